"""Admin-token authentication for the control API: no project token ever opens it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from verda_server.api.context import Context
from verda_server.api.errors import not_found, unauthorized

SCHEME_NAME = "adminToken"

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name=SCHEME_NAME,
    description="The server's admin token (--admin-token, VERDA_SERVER_ADMIN_TOKEN, "
    "or generated on first start and printed once)",
)


def admin_authorized(context: Context, authorization: str | None) -> bool:
    """Whether an Authorization header carries the admin token (for /metrics too)."""
    scheme, _, token = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and bool(token) and context.admin.accepts(token.strip())


async def require_admin(
    request: Request,
    context: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    if credentials is None:
        if request.headers.get("authorization"):
            raise unauthorized("Malformed Authorization header, expected 'Bearer <admin token>'")
        raise unauthorized("Missing admin token")
    if not context.admin.accepts(credentials.credentials):
        raise unauthorized("Invalid admin token")
    # No store holds a NUL (PostgreSQL refuses it outright): no id has one.
    for name, value in request.path_params.items():
        if "\x00" in str(value):
            raise not_found(f"No such {name}: it contains a NUL character")


Admin = Depends(require_admin)
