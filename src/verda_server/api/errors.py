"""The error model: every failure leaves the server as `{code, message}`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from verda_server.api.patterns import MEANINGS
from verda_server.observability.request_id import request_id_of

logger = logging.getLogger("verda_server")

ErrorCode = Literal[
    "invalid_request",
    "unauthorized_request",
    "insufficient_funds",
    "forbidden_action",
    "not_found",
    "conflict",
    "rate_limit_exceeded",
    "server_error",
    "service_unavailable",
]

STATUS_OF: dict[str, int] = {
    "invalid_request": 400,
    "unauthorized_request": 401,
    "insufficient_funds": 402,
    "forbidden_action": 403,
    "not_found": 404,
    "conflict": 409,
    "rate_limit_exceeded": 429,
    "server_error": 500,
    "service_unavailable": 503,
}


class PublicApiErrorResponseDto(BaseModel):
    code: ErrorCode = Field(description="Error type")
    message: str = Field(description="Error message")


class ApiError(Exception):
    """Raised anywhere below the HTTP layer; the handler turns it into a response."""

    def __init__(
        self, code: ErrorCode, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = STATUS_OF[code]
        self.headers = headers


def invalid(message: str) -> ApiError:
    return ApiError("invalid_request", message)


def not_found(message: str) -> ApiError:
    return ApiError("not_found", message)


def forbidden(message: str) -> ApiError:
    """A well-formed request the resource's state does not allow (a refused transition)."""
    return ApiError("forbidden_action", message)


def unauthorized(message: str) -> ApiError:
    return ApiError("unauthorized_request", message)


def error_response(
    code: ErrorCode, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"code": code, "message": message}, status_code=STATUS_OF[code], headers=headers
    )


def server_error(scope: Scope) -> JSONResponse:
    """A 500 without details, naming the request id the log line carries."""
    rid = request_id_of(scope)
    suffix = f" (request id {rid})" if rid is not None else ""
    return error_response("server_error", f"Internal server error{suffix}")


def _field_path(loc: Sequence[Any]) -> str:
    # Only the leading location goes: a field may be named "path" too.
    if loc and loc[0] in ("body", "query", "path", "header"):
        loc = loc[1:]
    parts = [str(p) for p in loc]
    return ".".join(parts) or "body"


def _length(error: Any) -> str | None:
    """A length limit in plain words: pydantic says "Value should have at most
    N items after validation" of a validated string type too."""
    value, ctx = error.get("input"), error.get("ctx") or {}
    unit = "character" if isinstance(value, str) else "item" if isinstance(value, list) else None
    kind = error.get("type")
    if unit is None or kind not in ("too_long", "too_short"):
        return None
    limit = ctx["max_length"] if kind == "too_long" else ctx["min_length"]
    words = "at most" if kind == "too_long" else "at least"
    return f"{words} {limit} {unit}{'' if limit == 1 else 's'}"


def describe_validation_errors(errors: Sequence[Any]) -> str:
    """One readable sentence per problem, each naming the offending field."""
    messages = []
    for error in errors:
        if error.get("type") == "json_invalid":
            return "Malformed JSON in request body"
        field = _field_path(error.get("loc", ()))
        ctx = error.get("ctx") or {}
        # A pattern's meaning, or a validator's own words without "Value error, ".
        meaning = (
            MEANINGS.get(ctx.get("pattern", ""))
            or (
                str(ctx["error"]) if error.get("type") == "value_error" and "error" in ctx else None
            )
            or _length(error)
        )
        messages.append(f"{field}: {meaning or error.get('msg', 'invalid value')}")
    return "; ".join(messages) or "Invalid request"


def refusal(error: ApiError) -> JSONResponse:
    """What an ApiError answers, from a route or from a layer before them."""
    return error_response(error.code, error.message, error.headers)


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return refusal(exc)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response("invalid_request", describe_validation_errors(exc.errors()))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    # The document's error table has no 405: like the real service, an
    # operation that does not exist is simply "not found".
    if status in (404, 405):
        return error_response("not_found", f"Cannot {request.method} {request.url.path}")
    if status == 401:
        return error_response("unauthorized_request", str(exc.detail))
    if status == 403:
        return error_response("forbidden_action", str(exc.detail))
    if 400 <= status < 500:
        # 413, 415 and the like have no row of their own in the table.
        return error_response("invalid_request", str(exc.detail))
    logger.error("HTTP %s on %s %s: %s", status, request.method, request.url.path, exc.detail)
    return server_error(request.scope)


class UnexpectedErrorMiddleware:
    """Turns any unhandled exception into a logged, detail-free 500.

    A plain `Exception` handler would leave Starlette to re-raise the error
    after answering, so uvicorn would log every failure a second time.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            logger.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if started:
                raise
            await server_error(scope)(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_middleware(UnexpectedErrorMiddleware)
