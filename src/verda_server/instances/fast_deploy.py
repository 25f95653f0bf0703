"""`POST /v1/instances` answered before routing, for the usual request.

A deploy's own work is done in batches (instances/batch.py); what remained of
a request's cost was the routing around it: matching the route, solving its
dependencies, reading and validating the body again, the thread hand-off of
the framework. A deploy with a bearer token and a JSON body that is a valid
deploy (as the body guard already parsed it, api/guard.py) is confirmed,
counted and made here, exactly as the route does it, in the same order:
the token before the body's fields, the rate limits once. Anything else, or
anything this layer can't vouch for (no token, a bad one, a body the model
refuses, the route not yet seen), goes on to the route untouched, which
answers it, errors included; a request confirmed here is not counted again.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from verda_server.api.context import AppContext
from verda_server.api.errors import ApiError, refusal
from verda_server.api.guard import PARSED_BODY
from verda_server.api.responses import created_id, send_response
from verda_server.api.security import CONFIRMED, admit
from verda_server.instances.schemas import DeployInstancePublicDto
from verda_server.instances.views import deploy_instance
from verda_server.readmodel.middleware import bearer_token

PATH = "/v1/instances"


class FastDeploy:
    def __init__(self, app: ASGIApp, *, context: AppContext) -> None:
        self.app = app
        self._context = context
        # The route, once a request has been routed to it (for logs and metrics).
        self._route: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        parsed = scope.get(PARSED_BODY)
        token = bearer_token(scope)
        if self._route is None or parsed is None or parsed[0] != "application/json" or not token:
            await self._routed(scope, receive, send)
            return
        context = self._context
        tokens = context.tokens
        try:
            principal = await tokens.confirm(tokens.claims(token))
        except ApiError:
            await self.app(scope, receive, send)  # the route says what is wrong
            return
        scope["route"] = self._route
        try:
            await admit(scope, context, principal)
        except ApiError as refused:
            await send_response(refusal(refused), scope, send)
            return
        scope[CONFIRMED] = principal
        try:
            body = DeployInstancePublicDto.model_validate(parsed[1])
        except ValidationError:
            await self.app(scope, receive, send)  # the route words the refusal
            return
        deploys = context.deploys
        assert deploys is not None
        try:
            instance_id = await run_in_threadpool(deploys.deploy, principal.project_id, body)
        except ApiError as refused:
            await send_response(refusal(refused), scope, send)
            return
        await send_response(created_id(instance_id, status_code=202), scope, send)

    async def _routed(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
        route = scope.get("route")
        if self._route is None and getattr(route, "endpoint", None) is deploy_instance:
            self._route = route
