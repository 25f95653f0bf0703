"""The limiter at the HTTP edge: the 429, and the headers on every response.

A request's verdict is kept in its ASGI scope; the middleware adds its headers
when the response starts, so that every response after authentication carries
them, whatever produced it: a handler's result, its error, a validation error
or the 429 itself.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from verda_server.api.errors import ApiError
from verda_server.ratelimits.config import WINDOW_SECONDS, ProjectRateLimits
from verda_server.ratelimits.limiter import RateLimiter

SCOPE_KEY = "verda.ratelimit"


async def enforce(
    scope: Scope,
    limiter: RateLimiter,
    subject: str,
    own: ProjectRateLimits | None,
    whose: str = "this project",
) -> None:
    """Count the request; raise the 429 when a limit is exceeded."""
    verdict = await limiter.admit(subject, scope["method"], scope["path"], own)
    if verdict is None:
        return
    scope[SCOPE_KEY] = verdict.headers
    if verdict.exceeded is None:
        return
    what = whose if verdict.exceeded == "project" else f"{scope['method']} {scope['path']}"
    raise ApiError(
        "rate_limit_exceeded",
        f"Rate limit exceeded: {verdict.limit} requests per {WINDOW_SECONDS} seconds for "
        f"{what}; retry in {verdict.retry_after} s",
        headers={"Retry-After": str(verdict.retry_after)},
    )


class RateLimitHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = scope.get(SCOPE_KEY)
                if headers is not None:
                    message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)
