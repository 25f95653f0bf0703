"""`verda-server serve` run in this process: the real option parsing and
wiring, with the built server kept on a frozen clock and served from a thread
instead of `uvicorn.run`, so that tests can move its time."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from click.testing import Result
from typer.testing import CliRunner

from tests.support.live import LiveServer, free_port, serve_in_thread
from verda_server import app as app_module
from verda_server import cli
from verda_server.app import Server
from verda_server.clock import Clock
from verda_server.config import Settings

# Variables a developer's shell may hold; each test says what it wants.
ISOLATED = (
    "VERDA_CLIENT_ID",
    "VERDA_CLIENT_SECRET",
    "VERDA_SERVER_DATA_DIR",
    "VERDA_SERVER_DATABASE_URL",
    "VERDA_SERVER_CATALOG",
    "VERDA_SERVER_TOKEN_TTL",
    "VERDA_SERVER_SIGNING_KEY",
    "VERDA_SERVER_PROVISIONING_SECONDS",
    "VERDA_SERVER_CLUSTER_PROVISIONING_SECONDS",
    "VERDA_SERVER_CLONE_SECONDS",
    "VERDA_SERVER_TRASH_SECONDS",
    "VERDA_SERVER_LIFECYCLE_PROFILE",
    "VERDA_SERVER_SPOT_SEED",
    "VERDA_SERVER_RATE_LIMITS",
    "VERDA_SERVER_RATE_LIMIT_POLICIES",
    "VERDA_SERVER_REDIS_URL",
    "VERDA_SERVER_ADMIN_TOKEN",
    "VERDA_SERVER_URL",
    "VERDA_SERVER_LOG_FORMAT",
    "VERDA_SERVER_METRICS_PUBLIC",
    "VERDA_SERVER_JOURNAL_SIZE",
)


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    """Run the command line in-process; the result holds exit code and output."""
    environment: dict[str, str | None] = dict.fromkeys(ISOLATED)
    environment.update(env or {})
    # `serve` sets up the process's logging, on a stream that ends with the run.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        return CliRunner().invoke(cli.cli, list(args), env=environment)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@contextmanager
def serve(
    monkeypatch: pytest.MonkeyPatch, *args: str, env: dict[str, str] | None = None
) -> Iterator[LiveServer]:
    """`verda-server serve ARGS` with ENV, as a live server on a frozen clock."""
    built: list[Server] = []
    real_build = app_module.build

    def build(settings: Settings, clock: Clock | None = None) -> Server:
        built.append(real_build(settings, clock=clock or Clock.frozen()))
        return built[-1]

    monkeypatch.setattr(app_module, "build", build)
    monkeypatch.setattr(cli.GracefulServer, "run", lambda self, sockets=None: None)
    port = free_port()
    result = invoke("serve", "--port", str(port), *args, env=env)
    assert result.exit_code == 0, result.output
    (server,) = built
    with serve_in_thread(server, port) as base_url:
        yield LiveServer(server, base_url)


def admin_cli(live: LiveServer, *args: str) -> Result:
    """`verda-server admin ARGS…` against `live`, with its admin token."""
    from tests.support.live import ADMIN_TOKEN

    return invoke(
        "admin",
        *args,
        env={"VERDA_SERVER_URL": live.base_url, "VERDA_SERVER_ADMIN_TOKEN": ADMIN_TOKEN},
    )
