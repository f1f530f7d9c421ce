"""Bearer-token auth: required whenever the server has a token (always, off loopback)."""

from __future__ import annotations

import hmac

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from batchyard.errors import Unauthorized

bearer = HTTPBearer(
    auto_error=False,
    description="The server's BATCHYARD_TOKEN, needed when the server listens off loopback.",
)


def require_token(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> None:
    """Refuse the request unless it carries the server's token (when the server has one)."""
    token: str | None = request.app.state.service.options.token
    if token is None:
        return
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized()
    if not hmac.compare_digest(credentials.credentials.encode(), token.encode()):
        raise Unauthorized("the bearer token is not the server's token (BATCHYARD_TOKEN)")
