"""`verda-server serve`: start the API on the embedded store or PostgreSQL."""

# ruff: noqa: E402 - the collector is paused before the imports that follow it

from __future__ import annotations

import gc
import importlib
import socket
import sys
from collections.abc import Iterator, MutableMapping
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

# The imports below (SQLAlchemy, uvicorn, typer, the lifecycle's models) make
# some 86 000 objects and no garbage: the collector, run after every few hundred
# allocations, scanned them again and again, a tenth of their time. Paused for
# them (`main` pauses it again for the start), then back as it was, with what
# they made set aside (frozen) rather than scanned at the next allocation.
_COLLECTING = gc.isenabled()
gc.disable()

import typer
import uvicorn
from typer.core import TyperGroup

from verda_server import __version__
from verda_server.cli_common import fail, safe_url, store_url
from verda_server.config import (
    DEFAULT_DATA_DIR,
    DEFAULT_HOST,
    DEFAULT_PORT,
    INSTANT,
    Lifecycle,
    Machines,
    Settings,
)
from verda_server.lifecycle.timings import DEFAULT_PROFILE, PROFILES
from verda_server.observability import logs
from verda_server.observability.journal import DEFAULT_SIZE as DEFAULT_JOURNAL_SIZE
from verda_server.observability.journal import MAX_SIZE as MAX_JOURNAL_SIZE

if TYPE_CHECKING:
    from verda_server.projects.service import Bootstrap

gc.freeze()
if _COLLECTING:
    gc.enable()

MIN_SIGNING_KEY_BYTES = 32


class Switch(StrEnum):
    on = "on"
    off = "off"


class SqliteSync(StrEnum):
    full = "full"
    normal = "normal"


class InstanceDriver(StrEnum):
    simulated = "simulated"
    podman = "podman"


class LogLevel(StrEnum):
    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"
    debug = "debug"


# The command groups besides `serve`, each imported only when named (or listed
# by --help): serving never loads the operator and control-API commands.
LAZY_GROUPS = {
    "projects": "verda_server.admin",
    "admin": "verda_server.control.cli",
    "instances": "verda_server.machines.cli",
}


def _load_group(name: str) -> Any:
    """The click group of LAZY_GROUPS[name], as `cli.add_typer(app, name=name)` makes it."""
    wrapper = typer.Typer(add_completion=False)
    wrapper.add_typer(importlib.import_module(LAZY_GROUPS[name]).app, name=name)
    return typer.main.get_group(wrapper).commands[name]


class _LazyCommands(MutableMapping[str, Any]):
    """The root's commands: the lazy groups are named at once, built on first use."""

    def __init__(self, built: MutableMapping[str, Any]) -> None:
        self._built = dict(built)
        self._names = [*built, *(name for name in LAZY_GROUPS if name not in built)]

    def __getitem__(self, name: str) -> Any:
        if name not in self._built and name in LAZY_GROUPS:
            self._built[name] = _load_group(name)
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._built[name] = command
        if name not in self._names:
            self._names.append(name)

    def __delitem__(self, name: str) -> None:
        if name not in self._names:
            raise KeyError(name)
        self._names.remove(name)
        self._built.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


class _Root(TyperGroup):
    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _LazyCommands(self.commands)


cli = typer.Typer(
    cls=_Root,
    add_completion=False,
    no_args_is_help=True,
    help="A stateful implementation of the Verda Cloud Public API v1.",
)


@cli.callback()
def _root() -> None:
    """verda-server: the Verda Cloud Public API v1, locally."""


@cli.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = DEFAULT_HOST,
    port: Annotated[
        int, typer.Option(min=1, max=65535, help="TCP port to listen on.")
    ] = DEFAULT_PORT,
    data_dir: Annotated[
        Path,
        typer.Option(envvar="VERDA_SERVER_DATA_DIR", help="Where the embedded SQLite store lives."),
    ] = DEFAULT_DATA_DIR,
    database_url: Annotated[
        str | None,
        typer.Option(
            envvar="VERDA_SERVER_DATABASE_URL",
            help="SQLAlchemy URL, e.g. postgresql+psycopg://user:pass@host/db "
            "(default: SQLite in --data-dir).",
        ),
    ] = None,
    client_id: Annotated[
        str | None,
        typer.Option(envvar="VERDA_CLIENT_ID", help="Client id of the default project."),
    ] = None,
    client_secret: Annotated[
        str | None,
        typer.Option(envvar="VERDA_CLIENT_SECRET", help="Client secret of the default project."),
    ] = None,
    catalog: Annotated[
        Path | None,
        typer.Option(
            envvar="VERDA_SERVER_CATALOG",
            help="A catalog YAML file replacing the packaged snapshot.",
        ),
    ] = None,
    token_ttl: Annotated[
        int,
        typer.Option(envvar="VERDA_SERVER_TOKEN_TTL", min=1, help="Access token lifetime, s."),
    ] = 3600,
    signing_key: Annotated[
        str | None,
        typer.Option(
            envvar="VERDA_SERVER_SIGNING_KEY",
            help="HMAC key for access tokens (default: generated once and kept in the store).",
        ),
    ] = None,
    lifecycle_profile: Annotated[
        str | None,
        typer.Option(
            envvar="VERDA_SERVER_LIFECYCLE_PROFILE",
            help=f"Lifecycle timing profile: {', '.join(PROFILES)} (default: the one kept "
            f"in the store, else {DEFAULT_PROFILE}; switchable at run time).",
        ),
    ] = None,
    provisioning_seconds: Annotated[
        float | None,
        typer.Option(
            envvar="VERDA_SERVER_PROVISIONING_SECONDS",
            min=0,
            help="Server-clock seconds an instance stays provisioning (new or started); "
            "overrides the profile's.",
        ),
    ] = None,
    cluster_provisioning_seconds: Annotated[
        float | None,
        typer.Option(
            envvar="VERDA_SERVER_CLUSTER_PROVISIONING_SECONDS",
            min=0,
            help="Server-clock seconds a new cluster stays provisioning; overrides the profile's.",
        ),
    ] = None,
    clone_seconds: Annotated[
        float | None,
        typer.Option(
            envvar="VERDA_SERVER_CLONE_SECONDS",
            min=0,
            help="Server-clock seconds a cross-location volume clone stays cloning; "
            "overrides the profile's.",
        ),
    ] = None,
    trash_seconds: Annotated[
        float | None,
        typer.Option(
            envvar="VERDA_SERVER_TRASH_SECONDS",
            min=0,
            help="Server-clock seconds a volume stays in the trash (the profiles' 96 h); "
            "overrides the profile's.",
        ),
    ] = None,
    serverless_ready_seconds: Annotated[
        float | None,
        typer.Option(
            envvar="VERDA_SERVER_SERVERLESS_READY_SECONDS",
            min=0,
            help="Server-clock seconds a container deployment's new replicas stay "
            "initializing; overrides the profile's.",
        ),
    ] = None,
    serverless_inference_seconds: Annotated[
        float | None,
        typer.Option(
            envvar="VERDA_SERVER_SERVERLESS_INFERENCE_SECONDS",
            min=0,
            help="Server-clock seconds a replica works on one request sent to a "
            "deployment's endpoint; overrides the profile's.",
        ),
    ] = None,
    serverless_base_url: Annotated[
        str | None,
        typer.Option(
            envvar="VERDA_SERVER_SERVERLESS_BASE_URL",
            help="Where container deployments' endpoints live: `endpoint_base_url` is "
            "<this>/<name>. Default: this server's /serverless.",
        ),
    ] = None,
    spot_seed: Annotated[
        int,
        typer.Option(
            envvar="VERDA_SERVER_SPOT_SEED",
            help="Seed of the spot evictions drawn from the catalog's eviction rates: "
            "the same seed evicts each instance at the same moment of its life.",
        ),
    ] = Lifecycle.spot_seed,
    instant: Annotated[
        bool,
        typer.Option(
            "--instant",
            help="No delays at all: provisioning and clones finish at once (the `instant` "
            "profile; the per-transition options are ignored).",
        ),
    ] = False,
    rate_limits: Annotated[
        Switch,
        typer.Option(
            envvar="VERDA_SERVER_RATE_LIMITS",
            help="The API document's rate limits (500 requests per project and 60 per "
            "endpoint per 60 s window); 'off' for heavy local suites and benchmarks.",
        ),
    ] = Switch.on,
    sqlite_sync: Annotated[
        SqliteSync,
        typer.Option(
            envvar="VERDA_SERVER_SQLITE_SYNC",
            help="SQLite durability: 'full' fsyncs every commit, so an acknowledged write "
            "survives a crash of the machine; 'normal' survives a crash of the process but "
            "may lose the last writes to a power loss, and writes many times faster where "
            "fsync is slow. PostgreSQL ignores it.",
        ),
    ] = SqliteSync.full,
    rate_limit_policies: Annotated[
        Path | None,
        typer.Option(
            envvar="VERDA_SERVER_RATE_LIMIT_POLICIES",
            help="A YAML file of route-specific endpoint limits replacing the packaged one.",
        ),
    ] = None,
    redis_url: Annotated[
        str | None,
        typer.Option(
            envvar="VERDA_SERVER_REDIS_URL",
            help="redis:// URL keeping the rate-limit counters, so that several replicas "
            "share one budget (default: in this process).",
        ),
    ] = None,
    admin_token: Annotated[
        str | None,
        typer.Option(
            envvar="VERDA_SERVER_ADMIN_TOKEN",
            help="Token of the control API under /_admin/v1 (default: generated on first "
            "start, kept in the store, printed once).",
        ),
    ] = None,
    log_level: Annotated[LogLevel, typer.Option(help="Log level.")] = LogLevel.info,
    log_format: Annotated[
        logs.LogFormat,
        typer.Option(
            envvar="VERDA_SERVER_LOG_FORMAT",
            help="Log lines on stderr: one JSON object each, human-readable text, or "
            "auto (text on a terminal, else JSON).",
        ),
    ] = logs.LogFormat.auto,
    metrics_public: Annotated[
        bool,
        typer.Option(
            "--metrics-public",
            envvar="VERDA_SERVER_METRICS_PUBLIC",
            help="Serve GET /metrics to anyone, without the admin token.",
        ),
    ] = False,
    journal_size: Annotated[
        int,
        typer.Option(
            envvar="VERDA_SERVER_JOURNAL_SIZE",
            min=1,
            max=MAX_JOURNAL_SIZE,
            help="Requests kept per project in the control API's journal.",
        ),
    ] = DEFAULT_JOURNAL_SIZE,
    instances: Annotated[
        InstanceDriver,
        typer.Option(
            envvar="VERDA_SERVER_INSTANCES",
            help="What an instance is: a record (simulated), or a Podman container with sshd "
            "that one can log into (podman: root, podman and runc needed; its files live in "
            "<data-dir>/machines).",
        ),
    ] = InstanceDriver.simulated,
    machines_dir: Annotated[
        Path | None,
        typer.Option(
            envvar="VERDA_SERVER_MACHINES_DIR",
            help="With --instances podman: where base images, volumes' data and instances' "
            "files live (default: <data-dir>/machines). One per host.",
        ),
    ] = None,
    instance_image: Annotated[
        Path | None,
        typer.Option(
            envvar="VERDA_SERVER_INSTANCE_IMAGE",
            help="With --instances podman: a root filesystem archive (tar, e.g. from `podman "
            "export`) with sshd, run instead of the Debian base built on first start.",
        ),
    ] = None,
    instance_scale: Annotated[
        float | None,
        typer.Option(
            envvar="VERDA_SERVER_INSTANCE_SCALE",
            min=0.001,
            help="With --instances podman: instance types' CPUs and memory are multiplied by "
            "this (default 1), and never exceed the host's.",
        ),
    ] = None,
) -> None:
    """Start the API server."""
    # Here, not at the top: `--help` and the other commands need none of them.
    from sqlalchemy.exc import SQLAlchemyError

    from verda_server.api.fastapi_import import import_app

    build = import_app().build  # before anything else loads FastAPI or our models
    from verda_server.catalog.source import CatalogError
    from verda_server.machines.errors import MachineSetupError
    from verda_server.ratelimits.counters import RedisUnavailable
    from verda_server.ratelimits.policies import PolicyError

    if bool(client_id) != bool(client_secret):
        raise typer.BadParameter("give both --client-id and --client-secret, or neither")
    if signing_key is not None and len(signing_key.encode()) < MIN_SIGNING_KEY_BYTES:
        raise typer.BadParameter(
            f"--signing-key must be at least {MIN_SIGNING_KEY_BYTES} bytes (HS256)"
        )
    database_url = store_url(data_dir, database_url)
    settings = Settings(
        database_url=database_url,
        host=host,
        port=port,
        catalog_path=catalog,
        client_id=client_id,
        client_secret=client_secret,
        signing_key=signing_key,
        access_token_ttl=token_ttl,
        rate_limits=rate_limits is Switch.on,
        rate_limit_policies_path=rate_limit_policies,
        redis_url=redis_url,
        admin_token=admin_token,
        lifecycle=_lifecycle(
            lifecycle_profile,
            instant,
            spot_seed,
            provisioning_seconds=provisioning_seconds,
            cluster_provisioning_seconds=cluster_provisioning_seconds,
            clone_seconds=clone_seconds,
            trash_seconds=trash_seconds,
            serverless_ready_seconds=serverless_ready_seconds,
            serverless_inference_seconds=serverless_inference_seconds,
        ),
        serverless_base_url=serverless_base_url,
        log_format=log_format.value,
        metrics_public=metrics_public,
        journal_size=journal_size,
        sqlite_sync=sqlite_sync.value,
        machines=Machines(
            driver=instances.value,
            root=machines_dir or data_dir / "machines",
            image_archive=instance_image,
            scale=instance_scale,
        ),
    )
    logs.configure(log_format, log_level.value)
    try:
        server = build(settings)
    except (CatalogError, PolicyError, RedisUnavailable, MachineSetupError) as exc:
        fail(str(exc))
    except (SQLAlchemyError, OSError) as exc:
        fail(f"cannot open the store {safe_url(database_url)}: {exc}")
    logs.follow(server.context.clock)
    _announce(settings, server.bootstrap, server.admin_token)
    config = uvicorn.Config(
        server.app,
        host=host,
        port=port,
        log_level=log_level.value,
        # Our handler on the root logger writes uvicorn's lines too; our
        # middleware writes the one line per request, so no access log here.
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        # An HTTP API: no WebSocket implementation to load while starting (an
        # upgrade request is answered as the plain request it also is).
        ws="none",
    )
    GracefulServer(config).run()


def _lifecycle(
    profile: str | None, instant: bool, spot_seed: int, **durations: float | None
) -> Lifecycle:
    if profile is not None and profile not in PROFILES:
        raise typer.BadParameter(
            f"--lifecycle-profile: unknown profile {profile!r} (known: {', '.join(PROFILES)})"
        )
    if instant:
        if profile not in (None, INSTANT.profile):
            raise typer.BadParameter(f"--instant contradicts --lifecycle-profile {profile}")
        return replace(INSTANT, spot_seed=spot_seed)
    overrides = {name: value for name, value in durations.items() if value is not None}
    return Lifecycle(profile=profile, overrides=overrides, spot_seed=spot_seed)


class GracefulServer(uvicorn.Server):
    """Ctrl-C and SIGTERM drain requests, close the store, then exit with status 0.

    Recent uvicorn re-raises the captured signal after the graceful shutdown,
    which turns a clean stop into a death by signal for supervisors and CI.
    """

    def run(self, sockets: list[socket.socket] | None = None) -> None:
        # Start-up made the objects that live as long as the process (modules,
        # models, routes, the catalog): collections need never scan them again.
        gc.freeze()
        gc.enable()
        super().run(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        captured = getattr(self, "_captured_signals", None)
        if isinstance(captured, list):
            captured.clear()


def _announce(settings: Settings, bootstrap: Bootstrap, admin_token: str | None) -> None:
    lines = [f"verda-server {__version__} on {settings.base_url}"]
    if bootstrap.client_secret is not None and settings.client_secret is None:
        lines += [
            "Created the default project and its API credentials (shown only this once):",
            f"export VERDA_BASE_URL={settings.base_url}",
            f"export VERDA_CLIENT_ID={bootstrap.client_id} "
            f"VERDA_CLIENT_SECRET={bootstrap.client_secret}",
        ]
    elif settings.client_secret is not None:
        lines.append(f"Using the configured client id {bootstrap.client_id}.")
    else:
        lines.append(
            f"Client id {bootstrap.client_id} (its secret was printed on first start; "
            "pass --client-id/--client-secret to set a known pair)."
        )
    if admin_token is not None:
        lines += [
            "Created the control API's admin token (shown only this once):",
            f"export VERDA_SERVER_ADMIN_TOKEN={admin_token}",
        ]
    typer.echo("\n".join(lines))
    sys.stdout.flush()


def main() -> None:
    # Start-up allocates hundreds of thousands of objects and almost no garbage:
    # the collector, run after every few hundred allocations, would scan them all
    # again and again (a sixth of the start). `GracefulServer.run` turns it back on.
    gc.disable()
    try:
        cli()
    finally:
        gc.enable()


if __name__ == "__main__":
    main()
