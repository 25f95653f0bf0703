"""A real verda-server on a free port, served by uvicorn in a thread."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
import uvicorn

from verda_server.api.context import AppContext
from verda_server.app import Server, build
from verda_server.auth.models import Credential
from verda_server.auth.secrets import new_client_id, new_client_secret
from verda_server.clock import Clock
from verda_server.config import Lifecycle, Settings
from verda_server.projects import service as projects

# Every client of the tests speaks plain HTTP to loopback, yet httpx builds an
# SSL context per client unless given one, loading the whole CA bundle (~0.1 s):
# give them all this one.
TLS: ssl.SSLContext = httpx.create_ssl_context()

# The cost of the scrypt hashes of the secrets the tests make for themselves
# (the server's own cost is 2**14: 16 MiB and tens of milliseconds a check,
# thousands of times over). `check_secret` reads the cost from the stored hash,
# so the server checks these through the same code, only sooner.
QUICK_SCRYPT_N = 2**4


def quick_secret_hash(secret: str) -> str:
    """What `hash_secret` stores, at QUICK_SCRYPT_N."""
    salt = os.urandom(16)
    key = hashlib.scrypt(secret.encode(), salt=salt, n=QUICK_SCRYPT_N, r=8, p=1)
    encoded = [base64.b64encode(part).decode() for part in (salt, key)]
    return "$".join(["scrypt", str(QUICK_SCRYPT_N), "8", "1", *encoded])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Credentials:
    project_id: str
    client_id: str
    client_secret: str

    def token_response(self, http: httpx.Client) -> dict[str, object]:
        response = http.post(
            "/v1/oauth2/token",
            json={
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            },
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def access_token(self, http: httpx.Client) -> str:
        return str(self.token_response(http)["access_token"])


@dataclass
class LiveServer:
    server: Server
    base_url: str

    @property
    def api_url(self) -> str:
        return self.base_url + "/v1"

    @property
    def context(self) -> AppContext:
        return self.server.context

    @property
    def clock(self) -> Clock:
        return self.server.context.clock

    def tick(self) -> None:
        """Move the frozen clock on by a millisecond: lists are in creation order,
        and things created at one instant have no order between them."""
        self.clock.advance(0.001)

    def new_project(
        self, balance: str = "1000", currency: str = "usd", *, server_hashed: bool = False
    ) -> Credentials:
        """A project and a credential of it; the secret's hash is a quick one
        (see QUICK_SCRYPT_N) unless `server_hashed`, for tests of how the
        server itself stores secrets."""
        ctx = self.context
        with ctx.db.write() as session:
            project = projects.create_project(
                session, ctx.clock, name="test", balance=Decimal(balance), currency=currency
            )
            if server_hashed:
                client_id, secret = projects.add_credential(session, ctx.clock, project.id)
            else:
                client_id, secret = new_client_id(), new_client_secret()
                session.add(
                    Credential(
                        client_id=client_id,
                        project_id=project.id,
                        secret_hash=quick_secret_hash(secret),
                        created_at=ctx.clock.now(),
                    )
                )
                session.flush()
        return Credentials(project.id, client_id, secret)

    def set_rate_limits(
        self,
        project_id: str,
        *,
        enabled: bool | None = None,
        project: int | None = None,
        endpoint: int | None = None,
    ) -> None:
        """A project's own rate limits (None: the server's default), for tests
        that need fewer requests to reach one, or more than a window allows."""
        from verda_server.ratelimits.config import ProjectRateLimits
        from verda_server.ratelimits.service import set_project_limits

        limits = ProjectRateLimits(enabled=enabled, project=project, endpoint=endpoint)
        with self.context.db.write() as session:
            set_project_limits(session, project_id, limits)

    def set_script_quota(self, project_id: str, quota: int) -> None:
        from verda_server.startup_scripts.service import set_quota

        with self.context.db.write() as session:
            set_quota(session, project_id, quota)


@contextmanager
def serve_in_thread(server: Server, port: int) -> Iterator[str]:
    config = uvicorn.Config(server.app, host="127.0.0.1", port=port, log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(timeout=20)


# No background sweep: only requests (and tests, by hand) settle what is due.
NO_SWEEP = Lifecycle(sweep_interval=None)
# The control API's token of every test server.
ADMIN_TOKEN = "vsa_test-admin-token"


@contextmanager
def start_live_server(
    database_url: str, clock: Clock | None = None, **overrides: object
) -> Iterator[LiveServer]:
    """A server on a frozen clock (time moves only by `clock.advance`) and,
    unless `lifecycle` says otherwise, without the background sweep."""
    port = free_port()
    overrides.setdefault("lifecycle", NO_SWEEP)
    overrides.setdefault("admin_token", ADMIN_TOKEN)
    settings = Settings(database_url=database_url, port=port, **overrides)  # type: ignore[arg-type]
    server = build(settings, clock=clock or Clock.frozen())
    with serve_in_thread(server, port) as base_url:
        yield LiveServer(server, base_url)


class FreshToken(httpx.Auth):
    """Bearer tokens that outlive clock moves: a new one once the server's
    clock has moved on by more than half a token's life."""

    def __init__(self, live: LiveServer, http: httpx.Client, credentials: Credentials) -> None:
        self._live, self._http, self._credentials = live, http, credentials
        self._token = ""
        self._issued: datetime | None = None

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        now = self._live.clock.now()
        if self._issued is None or now - self._issued >= timedelta(minutes=30):
            self._token, self._issued = self._credentials.access_token(self._http), now
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


def fresh_clients(
    live: LiveServer, clients: Callable[..., httpx.Client], http: httpx.Client
) -> Callable[[Credentials], httpx.Client]:
    """Makes a checked client of a project that keeps working however far the
    server's clock moves (for tests that move it by hours or weeks)."""

    def make(credentials: Credentials) -> httpx.Client:
        client = clients()
        client.auth = FreshToken(live, http, credentials)
        return client

    return make
