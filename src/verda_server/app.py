"""Application assembly: store, catalog, keys, and the HTTP layer on top."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from verda_server.api.context import AppContext
from verda_server.api.errors import install_error_handlers
from verda_server.api.guard import BodyGuardMiddleware
from verda_server.api.openapi import install_openapi
from verda_server.api.routing import add_routes
from verda_server.auth import views as auth_views
from verda_server.auth.service import TokenService
from verda_server.auth.signing import KeyRing
from verda_server.availability import views as availability_views
from verda_server.billing.backfill import open_missing_meters
from verda_server.catalog import views as catalog_views
from verda_server.catalog.service import Catalog
from verda_server.catalog.source import load_source
from verda_server.clock import Clock
from verda_server.clusters import views as cluster_views
from verda_server.config import Settings
from verda_server.control import app as control
from verda_server.control import capacity as stored_capacity
from verda_server.control import clock as stored_clock
from verda_server.control import lifecycle as stored_lifecycle
from verda_server.control import snapshot
from verda_server.control import token as admin_token
from verda_server.control.fault_middleware import FaultMiddleware
from verda_server.control.faults import FaultRules
from verda_server.control.shared import SharedState
from verda_server.instances import deploy
from verda_server.instances import views as instance_views
from verda_server.instances.batch import DeployQueue
from verda_server.instances.fast_deploy import FastDeploy
from verda_server.lifecycle.handover import clock_unended
from verda_server.lifecycle.reconcile import Reconciler
from verda_server.lifecycle.sweeper import Job, periodic
from verda_server.lifecycle.timings import ActiveLifecycle
from verda_server.observability import views as observability_views
from verda_server.observability.journal import make_journal
from verda_server.observability.metrics import Metrics
from verda_server.observability.middleware import ObservabilityMiddleware
from verda_server.projects import service as projects
from verda_server.projects import views as project_views
from verda_server.ratelimits.counters import open_counters
from verda_server.ratelimits.http import RateLimitHeadersMiddleware
from verda_server.ratelimits.limiter import RateLimiter
from verda_server.ratelimits.policies import load_policies
from verda_server.readmodel.cache import Answers
from verda_server.readmodel.middleware import ReadModel
from verda_server.serverless.compute import views as compute_views
from verda_server.serverless.deployments import views as deployment_views
from verda_server.serverless.endpoint import views as endpoint_views
from verda_server.serverless.jobs import views as job_views
from verda_server.serverless.registry import views as registry_views
from verda_server.serverless.secrets import views as secret_views
from verda_server.ssh_keys import views as ssh_key_views
from verda_server.startup_scripts import views as startup_script_views
from verda_server.storage.changes import change_log
from verda_server.storage.database import Database
from verda_server.storage.migrate import startup_lock, upgrade
from verda_server.system import views as system_views
from verda_server.tags import views as tag_views
from verda_server.volumes import views as volume_views

TOKEN_PRUNE_INTERVAL = 300.0

ROUTERS = (
    system_views.router,
    auth_views.router,
    project_views.router,
    catalog_views.public,
    catalog_views.private,
    availability_views.router,
    ssh_key_views.router,
    startup_script_views.router,
    # After the catalog, whose /v1/instances/types must win over /v1/instances/{id}.
    instance_views.router,
    volume_views.router,
    cluster_views.router,
    compute_views.router,
    secret_views.router,
    registry_views.router,
    deployment_views.router,
    job_views.router,
    endpoint_views.router,
    *tag_views.ROUTERS,
    # Last: every router before it is tried first by each request.
    observability_views.router,
)


@dataclass
class Server:
    app: FastAPI
    context: AppContext
    bootstrap: projects.Bootstrap
    # Set only on the start that generated it: to be shown once.
    admin_token: str | None = None


def build(settings: Settings, clock: Clock | None = None) -> Server:
    """Migrate the store, make sure the default project exists, return the app."""
    clock = clock or Clock()
    catalog = Catalog(load_source(settings.catalog_path))
    policies = load_policies(settings.rate_limit_policies_path)
    limiter = None
    if settings.rate_limits:
        limiter = RateLimiter(open_counters(settings.redis_url), clock, policies)
    machines = None
    if settings.machines.real:
        # Before the store opens: a host that can't run instances says so first.
        from verda_server.machines.driver import prepare

        machines = prepare(settings.machines)
    db = Database(settings.database_url, settings.sqlite_sync)
    keys = KeyRing(db, clock, settings.signing_key)
    shared = SharedState(db)
    lifecycle = ActiveLifecycle(settings.lifecycle.spot_seed, machines=machines is not None)
    stored_clock.follow(shared, clock)
    faults = FaultRules(shared, clock)
    snapshot.follow(shared, keys)
    stored_lifecycle.follow(shared, lifecycle)
    stored_capacity.follow(shared, catalog)
    with startup_lock(db) as connection:
        upgrade(connection)
        keys.ensure()
        # Time travel, profiles and capacity survive a restart and are one for
        # every replica.
        shared.load()
        if settings.lifecycle.sets_timings:
            stored_lifecycle.start(shared, settings.lifecycle.profile, settings.lifecycle.overrides)
        with db.write() as session:
            admin = admin_token.ensure(session, settings.admin_token)
            bootstrap = projects.bootstrap(
                session,
                clock,
                balance=settings.initial_balance,
                currency=settings.currency,
                client_id=settings.client_id,
                client_secret=settings.client_secret,
            )
            open_missing_meters(session, clock.now(), catalog)
            clock_unended(session, clock.now(), lifecycle.current)
    tokens = TokenService(db, clock, keys, settings.access_token_ttl, settings.refresh_token_ttl)
    metrics = Metrics(db)
    faults.on_fired(metrics.fault_injected)
    context = AppContext(
        settings=settings,
        db=db,
        clock=clock,
        catalog=catalog,
        tokens=tokens,
        reconciler=Reconciler(db, clock, catalog, lifecycle),
        rate_limiter=limiter,
        shared=shared,
        admin=admin,
        faults=faults,
        metrics=metrics,
        journal=make_journal(settings.journal_size, settings.redis_url),
        lifecycle=lifecycle,
        answers=Answers(changes=lambda: change_log(db.memory)),
    )
    context.deploys = DeployQueue(
        context.work_for,
        lambda session, now, project_id, body, made: deploy.deploy(
            session, now, catalog, lifecycle.current, project_id, body, made
        ),
        catalog,
    )
    if machines is not None:
        from verda_server.machines.driver import controller

        layout, base = machines
        context.machines = controller(
            settings.machines, layout, base, catalog, db.read, context.work
        )
    return Server(create_app(context), context, bootstrap, admin.generated)


def create_app(context: AppContext) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        sweep = context.settings.lifecycle.sweep_interval
        jobs: list[Job] = [(TOKEN_PRUNE_INTERVAL, context.tokens.prune)]
        if sweep:
            jobs.append((sweep, context.reconciler.settle))
        if context.machines is not None:
            context.machines.start()
        try:
            async with periodic(*jobs):
                yield
        finally:
            if context.machines is not None:
                # Their containers go on: instances outlive the server.
                await run_in_threadpool(context.machines.stop)
        context.tokens.close()
        if context.rate_limiter is not None:
            await context.rate_limiter.close()
        await context.journal.close()
        context.db.dispose()

    app = FastAPI(
        title="Verda Cloud Public API",
        openapi_url="/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        # /v1/balance/ is not /v1/balance: a JSON 404, not a redirect built from Host.
        redirect_slashes=False,
        lifespan=lifespan,
    )
    app.state.context = context
    # Innermost of ours: a replayed read still meets the body guard, the
    # rate-limit headers, faults, the replicas' catch-up and observability.
    app.add_middleware(FastDeploy, context=context)
    app.add_middleware(ReadModel, context=context, answers=context.answers)
    app.add_middleware(BodyGuardMiddleware)
    install_error_handlers(app)
    if context.rate_limiter is not None:
        # Outermost: even a 500 after authentication carries the headers.
        app.add_middleware(RateLimitHeadersMiddleware)
    for router in ROUTERS:
        add_routes(app, router)
    server_url = context.settings.base_url.removesuffix("/v1")
    install_openapi(app, server_url)
    control.install(app, server_url)
    # Inside FollowSharedState: the rules a request meets are the latest.
    app.add_middleware(FaultMiddleware, context=context)
    if context.shared.remote:
        app.add_middleware(control.FollowSharedState, shared=context.shared)
    # Outermost of ours: every response carries the request id, a 500 too.
    app.add_middleware(
        ObservabilityMiddleware,
        routes=app.router.routes,
        clock=context.clock,
        metrics=context.metrics,
        journal=context.journal,
    )
    return app
