"""Injects the operator's faults into public requests, before any handler runs.

Without rules (the normal case) a request costs one attribute check here.
A fault fires before the request reaches authentication, validation or the
store, so an injected error leaves no partial write behind.
"""

from __future__ import annotations

import asyncio

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from verda_server.api.context import AppContext
from verda_server.api.errors import ApiError, error_response
from verda_server.control.faults import EXEMPT_PREFIXES, Rule

HEADER = "X-Verda-Fault"
# Module level so tests can see the delays without waiting them out.
sleep = asyncio.sleep


class FaultMiddleware:
    def __init__(self, app: ASGIApp, context: AppContext) -> None:
        self.app = app
        self.context = context
        self.faults = context.faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.faults.active or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        fired = await self._fired(scope)
        for rule in fired:
            self.faults.notify(rule.id)
        delay = sum(rule.latency_ms for rule in fired)
        if delay:
            await sleep(delay / 1000)
        failing = next((rule for rule in fired if rule.code is not None), None)
        if failing is None:
            await self.app(scope, receive, send)
            return
        response = error_response(
            failing.code,  # type: ignore[arg-type]
            failing.message or "",
            headers={HEADER: failing.id},
        )
        await response(scope, receive, send)

    async def _fired(self, scope: Scope) -> list[Rule]:
        raw = scope.get("raw_path")
        path = raw.split(b"?", 1)[0].decode("latin-1") if raw else scope["path"]
        if path.startswith(EXEMPT_PREFIXES):
            return []
        method = scope["method"]
        candidates = [rule for rule in self.faults.active if rule.matches(method, path)]
        if any(rule.project_id is not None for rule in candidates):
            project_id = self._project_of(scope)
            candidates = [r for r in candidates if r.project_id in (None, project_id)]
        if not candidates:
            return []
        return await run_in_threadpool(self.faults.consult, [rule.id for rule in candidates])

    def _project_of(self, scope: Scope) -> str | None:
        """The project named by the bearer token's signed claims: signature and
        expiry checked, the credential not confirmed (a store read that is the
        request's own business); a request without a valid token has none."""
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() != "bearer" or not token.strip():
                    return None
                try:
                    return self.context.tokens.claims(token.strip()).project_id
                except ApiError:
                    return None
        return None
