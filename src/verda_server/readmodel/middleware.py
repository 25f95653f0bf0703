"""The hot reads, answered before routing.

An authenticated GET is confirmed here, with the one indexed read every such
request pays anyway (the credential, its project's rate limits and generation)
and counted against the project's limits once. A read the routes mark as
cacheable (readmodel/marks.py) is then answered from the rendered bytes of an
earlier identical read while the project's generation is the one read before
that answer was rendered and its next due instant has not come, so no write
acknowledged before this request began, on any replica, and no transition due
by the server's clock is missed. Everything else, a miss included, goes on to
the routes with the principal already confirmed. The balance is computed here,
at the request's instant, from its parts (the ledger balance and the open
meters) remembered under the same rules.

The instance list (without a query) and items are answered from the
project's instance view (readmodel/instances.py): after a write only the
instances it changed are rendered again, and when a transition of the project
falls due it is applied here first (a writer's turn), as the routes would.

Whatever this layer cannot vouch for (no token, a bad one, a path not yet seen)
it hands on untouched: the routes give the answer, errors included, and teach
it the path's route.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from datetime import datetime
from enum import Enum
from typing import Any

from fastapi.routing import APIRoute
from fastapi.security.utils import get_authorization_scheme_param
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from verda_server.api.context import AppContext
from verda_server.api.errors import ApiError, refusal
from verda_server.api.responses import send_response
from verda_server.api.security import CONFIRMED, admit, require_principal
from verda_server.instances import render
from verda_server.instances.views import get_instance, list_instances
from verda_server.lifecycle.reconcile import next_due
from verda_server.projects.service import balance_body, balance_parts, generation_of
from verda_server.projects.views import get_project_balance
from verda_server.readmodel.cache import Answer, Answers, Entry
from verda_server.readmodel.instances import InstanceView
from verda_server.readmodel.marks import is_cached_read
from verda_server.storage.owned import canonical_id

# Paths whose route is known; beyond this many the oldest are learnt again.
MAX_PATHS = 16384
# Longer paths (no resource's is) are never learnt: anyone may send them, and
# MAX_PATHS of them must not hold more than a few megabytes.
MAX_PATH_LENGTH = 256
_AUTHORIZATION = b"authorization"


class Kind(Enum):
    OTHER = "other"  # public, or not found: the routes answer
    AUTHENTICATED = "authenticated"  # a project's read: confirmed here
    CACHED = "cached"  # and its answer may be remembered
    BALANCE = "balance"  # answered here
    INSTANCES = "instances"  # from the instance view, without a query
    INSTANCE = "instance"  # from the instance view


def _requires_principal(route: APIRoute) -> bool:
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        if dependant.call is require_principal:
            return True
        pending.extend(dependant.dependencies)
    return False


def kind_of(route: Any) -> Kind:
    if not isinstance(route, APIRoute) or "GET" not in route.methods:
        # A route only partly matched (another method's): the routes refuse
        # the GET before authentication, so it is neither confirmed nor counted.
        return Kind.OTHER
    if route.endpoint is get_project_balance:
        return Kind.BALANCE
    if route.endpoint is list_instances:
        return Kind.INSTANCES
    if route.endpoint is get_instance:
        return Kind.INSTANCE
    if not _requires_principal(route):
        return Kind.OTHER
    return Kind.CACHED if is_cached_read(route.endpoint) else Kind.AUTHENTICATED


def bearer_token(scope: Scope) -> str | None:
    """The token as the routes' HTTPBearer reads it; None where it reads none."""
    for name, value in scope["headers"]:
        if name == _AUTHORIZATION:
            scheme, token = get_authorization_scheme_param(value.decode("latin-1"))
            return token if scheme.lower() == "bearer" and token else None
    return None


class ReadModel:
    def __init__(self, app: ASGIApp, *, context: AppContext, answers: Answers) -> None:
        self.app = app
        self._context = context
        self._answers = answers
        self._paths: OrderedDict[str, tuple[Kind, Any, str | None]] = OrderedDict()
        self._kinds: dict[int, Kind] = {}
        self._settling: dict[str, asyncio.Future[int]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        known = self._paths.get(path)
        if known is None:
            await self.app(scope, receive, send)
            self._learn(path, scope.get("route"))
            return
        kind, route, instance_id = known
        token = None if kind is Kind.OTHER else bearer_token(scope)
        if token is None:
            await self.app(scope, receive, send)
            return
        tokens = self._context.tokens
        try:
            principal = await tokens.confirm(tokens.claims(token))
        except ApiError:
            await self.app(scope, receive, send)  # the routes say what is wrong
            return
        scope["route"] = route
        try:
            await admit(scope, self._context, principal)
        except ApiError as refused:
            await send_response(refusal(refused), scope, send)
            return
        scope[CONFIRMED] = principal
        generation = principal.generation
        if kind is Kind.AUTHENTICATED or generation is None:
            await self.app(scope, receive, send)
        elif kind is Kind.BALANCE:
            await self._balance(scope, receive, send, principal.project_id, generation)
        elif kind is Kind.INSTANCE or (kind is Kind.INSTANCES and not scope["query_string"]):
            if not await self._from_view(
                scope, send, route, principal.project_id, generation, instance_id
            ):
                await self.app(scope, receive, send)
        else:
            await self._cached(scope, receive, send, route, principal.project_id, generation)

    async def _entry(self, project_id: str, generation: int, now: datetime) -> Entry:
        """The project's entry at `generation` (followed there from an earlier
        one if it can be), with its due instant known."""
        answers = self._answers
        entry = answers.reusable(project_id, generation)
        if entry is None:
            entry = answers.open(project_id, generation, None)
            entry.due_known = False
        if not entry.current(generation, now):
            due = await self._context.db.run_read(lambda session: next_due(session, project_id))
            if entry.generation == generation:
                entry.due, entry.due_known = due, True
        return entry

    async def _settled(self, project_id: str, generation: int) -> tuple[Entry, int] | None:
        """The entry current now and the generation it is at, after applying
        what is due (as a read's route does first); None if the project went."""
        context = self._context
        now = context.clock.now()
        entry = await self._entry(project_id, generation, now)
        if entry.current(generation, now):
            return entry, generation
        # Something is due: applied in a writer's turn, then looked at again.
        await self._settle(project_id)
        settled = await context.db.run_read(lambda session: generation_of(session, project_id))
        if settled is None:
            return None
        entry = await self._entry(project_id, settled, now)
        return (entry, settled) if entry.current(settled, now) else None

    async def _settle(self, project_id: str) -> None:
        """Apply what is due in the project, once for all the requests that
        find it due together: the first takes a writer's turn, the others wait
        for it rather than queue for turns of their own that would find nothing
        left to do (each then looks at the due instant again, from its `now`)."""
        running = self._settling.get(project_id)
        if running is None:
            running = asyncio.ensure_future(
                run_in_threadpool(self._context.reconciler.settle, project_id)
            )
            self._settling[project_id] = running
            running.add_done_callback(lambda done: self._forget_settle(project_id, done))
        # Shielded: one waiter that goes (its client hung up) must not cancel
        # the others' settle.
        await asyncio.shield(running)

    def _forget_settle(self, project_id: str, done: asyncio.Future[int]) -> None:
        if self._settling.get(project_id) is done:
            del self._settling[project_id]

    async def _from_view(
        self,
        scope: Scope,
        send: Send,
        route: Any,
        project_id: str,
        generation: int,
        instance_id: str | None,
    ) -> bool:
        """Answer the list or an item from the project's instance view; False
        when the routes must (an unknown id, a project gone, a view overtaken
        by a write while it rendered)."""
        settled = await self._settled(project_id, generation)
        if settled is None:
            return False
        entry, generation = settled
        answers = self._answers
        if entry.view is None and answers.held(project_id, entry, generation):
            entry.view = InstanceView()
        view = entry.view
        if view is None:
            return False
        wanted = view.wants(instance_id)
        metrics = self._context.metrics
        if wanted == []:
            metrics.read_model("hit")
        else:
            metrics.read_model("miss")
            marks = view.marks
            catalog = self._context.catalog
            found = await self._context.db.run_read(
                lambda session: render.records(session, catalog, project_id, wanted)
            )
            if not answers.held(project_id, entry, generation):
                return False
            view.put(wanted, found, marks)
            answers.resize(project_id, entry)
        body = view.list_body() if instance_id is None else view.item(instance_id)
        if body is None:
            return False
        scope["route"] = route
        headers = [
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"application/json"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return True

    async def _balance(
        self, scope: Scope, receive: Receive, send: Send, project_id: str, generation: int
    ) -> None:
        context = self._context
        now = context.clock.now()
        entry = await self._entry(project_id, generation, now)
        parts = entry.balance
        if parts is None:
            if not entry.current(generation, now):
                # Something fell due (the money ran out, a contract ended):
                # applied at its own instant before the balance is read.
                await run_in_threadpool(context.reconciler.settle, project_id)
            parts = await context.db.run_read(lambda session: balance_parts(session, project_id))
            if parts is None:  # the project went meanwhile
                await self.app(scope, receive, send)
                return
            if entry.current(generation, now):
                entry.balance = parts
        body = balance_body(parts.at(now), parts.currency)
        await send_response(Response(body, media_type="application/json"), scope, send)

    async def _cached(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        route: Any,
        project_id: str,
        generation: int,
    ) -> None:
        now = self._context.clock.now()
        key = (scope["path"], scope["query_string"])
        answer = self._answers.find(project_id, generation, now, key)
        metrics = self._context.metrics
        if answer is not None:
            metrics.read_model("hit")
            scope["route"] = answer.route
            await send({"type": "http.response.start", "status": 200, "headers": [*answer.headers]})
            await send({"type": "http.response.body", "body": answer.body})
            return
        metrics.read_model("miss")
        entry = await self._entry(project_id, generation, now)
        status = 0
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, capture)
        if status == 200 and scope.get("route") is route:
            answer = Answer(headers, b"".join(chunks), route)
            self._answers.keep(project_id, entry, key, answer, generation)

    def _learn(self, path: str, route: Any) -> None:
        if route is None or len(path) > MAX_PATH_LENGTH:
            return  # not routed (an error at the edge): learnt another time
        kind = self._kinds.get(id(route))
        if kind is None:
            kind = self._kinds[id(route)] = kind_of(route)
        instance_id = None
        if kind is Kind.INSTANCE:
            instance_id = canonical_id(path.rsplit("/", 1)[-1])
            if instance_id is None:
                kind = Kind.AUTHENTICATED  # never an instance's: the routes say 404
        self._paths[path] = (kind, route, instance_id)
        if len(self._paths) > MAX_PATHS:
            self._paths.popitem(last=False)
