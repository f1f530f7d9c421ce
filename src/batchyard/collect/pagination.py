"""Pagination: page numbers, offsets, cursors from the body, or next links (body or Link header).

The state between pages is JSON, so an item checkpoints it after each page and a resumed item
starts at the page after the last one it wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import jmespath

from batchyard.errors import ParamError

if TYPE_CHECKING:
    import httpx

STYLES = ("page", "offset", "cursor", "next")


@dataclass(frozen=True)
class Pages:
    """How to ask for the next page. ``style`` None: one request per item."""

    style: str | None = None
    param: str | None = None
    size: int | None = None
    size_param: str | None = None
    first: int = 1
    cursor_path: str | None = None
    next_path: str | None = None
    max_pages: int = 10_000

    def __post_init__(self) -> None:
        if self.style is not None and self.style not in STYLES:
            raise ParamError(f"paginate={self.style!r}: use one of {', '.join(STYLES)}")
        if self.style == "offset" and not self.size:
            raise ParamError("paginate=offset needs page_size (the records a page holds)")
        if self.style == "cursor" and not self.cursor_path:
            raise ParamError("paginate=cursor needs cursor_path (where the next cursor is)")
        if self.size is not None and self.size < 1:
            raise ParamError(f"page_size={self.size}: give at least 1")
        if self.max_pages < 1:
            raise ParamError(f"max_pages={self.max_pages}: give at least 1")
        for name in ("cursor_path", "next_path"):
            expr = getattr(self, name)
            if expr:
                try:
                    jmespath.compile(expr)
                except jmespath.exceptions.JMESPathError as exc:
                    raise ParamError(f"{name} {expr!r}: {exc}") from exc

    @property
    def query_param(self) -> str | None:
        if self.style == "page":
            return self.param or "page"
        if self.style == "offset":
            return self.param or "offset"
        if self.style == "cursor":
            return self.param or "cursor"
        return None

    @property
    def limit_param(self) -> str | None:
        if self.style == "offset":
            return self.size_param or "limit"
        return self.size_param if self.size else None

    def start(self) -> dict[str, Any]:
        return {"n": 0, "page": self.first, "offset": 0, "cursor": None, "url": None}

    def variables(self, state: dict[str, Any]) -> dict[str, Any]:
        return {
            "page": state["page"],
            "offset": state["offset"],
            "limit": self.size if self.size is not None else "",
            "cursor": state["cursor"] if state["cursor"] is not None else "",
        }

    def query(self, state: dict[str, Any]) -> dict[str, Any]:
        """The query params that ask for the page ``state`` points at."""
        out: dict[str, Any] = {}
        name = self.query_param
        if self.style == "page" and name:
            out[name] = state["page"]
        elif self.style == "offset" and name:
            out[name] = state["offset"]
        elif self.style == "cursor" and name and state["cursor"] is not None:
            out[name] = state["cursor"]
        if self.limit_param and self.size:
            out[self.limit_param] = self.size
        return out

    def advance(
        self, state: dict[str, Any], body: Any, response: httpx.Response, count: int
    ) -> dict[str, Any] | None:
        """The state of the next page, or None when this one was the last."""
        n = state["n"] + 1
        if self.style is None or n >= self.max_pages:
            return None
        nxt = {**state, "n": n}
        if self.style in ("page", "offset"):
            if count == 0 or (self.size is not None and count < self.size):
                return None
            nxt["page"] = state["page"] + 1
            nxt["offset"] = state["offset"] + count
            return nxt
        if self.style == "cursor":
            assert self.cursor_path is not None
            cursor = jmespath.search(self.cursor_path, body)
            if cursor in (None, "", False) or cursor == state["cursor"]:
                return None
            nxt["cursor"] = cursor
            return nxt
        link = jmespath.search(self.next_path, body) if self.next_path else None
        if link is None and not self.next_path:
            link = response.links.get("next", {}).get("url")
        if not link or not isinstance(link, str):
            return None
        nxt["url"] = urljoin(str(response.url), link)
        nxt["page"] = state["page"] + 1
        return nxt
