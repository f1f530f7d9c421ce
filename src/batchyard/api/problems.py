"""Errors as RFC 9457 problem details (``application/problem+json``), mapped in one place.

A :class:`~batchyard.errors.BatchyardError` answers with its class's ``http_status`` and ``title``;
a bad parameter answers 422 naming each field, wherever it is (the path, the query, the body, or a
job's params that do not fit its kind); anything unexpected answers 500 with no detail, and is
logged with secrets masked. Titles are short phrases for people (``Not found``, ``Bad parameter``),
and ``type`` is made from the title, so both stay when code is renamed.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from batchyard.errors import BadField, BadSetting, BatchyardError, BodyParamError, PlanError
from batchyard.secrets import mask_secrets

logger = logging.getLogger("batchyard.api")

MEDIA_TYPE = "application/problem+json"


class FieldError(BaseModel):
    field: str = Field(description="Where the bad value is: `body.params.start`, `query.limit`.")
    message: str


class Problem(BaseModel):
    """What went wrong, as problem details."""

    type: str = Field("about:blank", examples=["https://batchyard.dev/problems/bad-parameter"])
    title: str = Field(examples=["Bad parameter"])
    status: int = Field(examples=[422])
    detail: str = Field("", examples=["param 'start': Input should be a valid date"])
    errors: list[FieldError] = Field(default_factory=list)


def _response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "model": Problem,
        "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


#: The problems any API route may answer with, for the OpenAPI document.
RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _response("Bad input that is no parameter of the request: the detail says what to do."),
    401: _response("A bearer token is needed (BATCHYARD_TOKEN)."),
    404: _response("No such job, kind, pipeline or connection."),
    409: _response("The job's state does not allow this."),
    422: _response(
        "A bad parameter, in the path, the query or the body (a job's params too): `errors` "
        "names each field."
    ),
    503: _response("The store is not available."),
}


def problem(
    status: int,
    title: str,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = Problem(
        type=f"https://batchyard.dev/problems/{_slug(title)}",
        title=title,
        status=status,
        detail=str(mask_secrets(detail)),
        errors=errors or [],
    )
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(
        body.model_dump(), status_code=status, media_type=MEDIA_TYPE, headers=headers
    )


def _slug(title: str) -> str:
    words = "".join(ch.lower() if ch.isalnum() else " " for ch in title).split()
    return "-".join(words) or "error"


#: Titles of the problems the framework raises (an unknown route, a method it does not have).
HTTP_TITLES = {401: "Token needed", 404: "Not found", 405: "Method not allowed"}


def http_title(status: int) -> str:
    if status in HTTP_TITLES:
        return HTTP_TITLES[status]
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        return "Error"
    return phrase[:1] + phrase[1:].lower()


def field_errors(
    exc: ValidationError | RequestValidationError, prefix: str = ""
) -> list[FieldError]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        name = ".".join([prefix, *loc] if prefix else loc) or "body"
        out.append(FieldError(field=name, message=str(mask_secrets(err.get("msg", "invalid")))))
    return out


def _root(exc: BatchyardError) -> BatchyardError:
    # "planning failed: StoreError: ..." is clearer as the store error it wraps.
    cause = exc.__cause__
    if (
        isinstance(exc, PlanError)
        and isinstance(cause, BatchyardError)
        and not isinstance(exc, type(cause))
    ):
        return cause
    return exc


def _allowed(request: Request) -> str:
    """Every method of every route at this path (the router names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "GET", "type": "http"})
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


def install(app: FastAPI) -> None:
    """Map every error to problem details."""

    @app.exception_handler(BatchyardError)
    async def _batchyard(_request: Request, exc: BatchyardError) -> JSONResponse:
        exc = _root(exc)
        status = exc.http_status
        if status >= 500 and status != 503:
            logger.error("%s: %s", type(exc).__name__, mask_secrets(str(exc)))
        errors = None
        if isinstance(exc, BadField | BodyParamError | BadSetting):
            errors = [FieldError(field=exc.field, message=str(exc))]
        return problem(status, exc.title, str(exc), errors)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = field_errors(exc)
        first = errors[0] if errors else FieldError(field="request", message="invalid")
        return problem(422, "Bad parameter", f"{first.field}: {first.message}", errors)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        title = http_title(exc.status_code)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed(request)
        return problem(exc.status_code, title, str(exc.detail), headers=headers)

    app.add_middleware(CatchAll)


class CatchAll:
    """Anything unexpected: a 500 problem with no detail, and one masked log line.

    Starlette's own last resort re-raises for the server to print the traceback, whose text can
    hold what the masking here keeps out of the log.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            logger.error(
                "%s %s failed: %s: %s",
                scope.get("method"),
                scope.get("path"),
                type(exc).__name__,
                mask_secrets(str(exc)),
            )
            if not started:
                response = problem(500, "Server error", "the server failed; its log says why")
                await response(scope, receive, send)
