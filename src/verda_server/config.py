"""Server settings, built once by the CLI (or a test) and passed down explicitly."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3010
DEFAULT_DATA_DIR = Path(".verda-server")
SQLITE_FILENAME = "verda.db"


@dataclass(frozen=True)
class Lifecycle:
    """How the timed transitions start out in this process.

    The durations are a named profile's (lifecycle/data/profiles.yaml) with
    per-transition overrides, switchable at run time through the control API
    (lifecycle/timings.py). A start that names neither follows the profile kept
    in the store (the default `fast` on a new store); one that names either
    sets it for every replica.
    """

    # None: the stored profile (or `fast`).
    profile: str | None = None
    # Transition name (e.g. "provisioning_seconds") -> seconds, over the profile.
    overrides: Mapping[str, float] = field(default_factory=dict)
    # Seeds the draw of each spot instance's eviction instant (with its id), so
    # that one seed and one catalog give the same evictions on every run.
    spot_seed: int = 0
    # Real seconds between background sweeps; None: no sweep, so that only
    # requests settle what is due (a test then decides exactly when).
    sweep_interval: float | None = 1.0

    @property
    def sets_timings(self) -> bool:
        return self.profile is not None or bool(self.overrides)


# No delays at all: provisioning and clones finish at once.
INSTANT = Lifecycle(profile="instant")


@dataclass(frozen=True)
class Machines:
    """What an instance is: a record (`simulated`), or a Podman container with
    sshd that one can log into (`podman`, machines/)."""

    driver: str = "simulated"
    # Where the driver keeps base images, volumes' data and instances' files.
    root: Path | None = None
    # A root filesystem archive to run instances on instead of the built base.
    image_archive: Path | None = None
    # Instance types' CPUs and memory are multiplied by this (None: 1), within the host's.
    scale: float | None = None

    @property
    def real(self) -> bool:
        return self.driver == "podman"


@dataclass(frozen=True)
class Settings:
    database_url: str
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    catalog_path: Path | None = None
    client_id: str | None = None
    client_secret: str | None = None
    signing_key: str | None = None
    access_token_ttl: int = 3600
    refresh_token_ttl: int = 30 * 24 * 3600
    initial_balance: Decimal = field(default_factory=lambda: Decimal("1000"))
    currency: str = "usd"
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    # The API document's rate limits (on, as on the real service, unless off).
    rate_limits: bool = True
    rate_limit_policies_path: Path | None = None
    # Where replicas share rate-limit counters and the journal; None: in this process.
    redis_url: str | None = None
    # None: the one kept in the store (generated on first start).
    admin_token: str | None = None
    # Log lines: json, text, or auto (text on a terminal); set up by the command line.
    log_format: str = "auto"
    # GET /metrics without the admin token.
    metrics_public: bool = False
    # Requests kept per project in the journal.
    journal_size: int = 200
    # SQLite's durability (storage/database.py): "full" fsyncs every commit;
    # "normal" survives a crash of the process, not of the machine.
    sqlite_sync: str = "full"
    # Where container deployments' endpoints live (`endpoint_base_url` is
    # `<this>/<name>`); None: this server's own /serverless.
    serverless_base_url: str | None = None
    machines: Machines = field(default_factory=Machines)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def serverless_url(self) -> str:
        base = self.serverless_base_url or self.base_url.removesuffix("/v1") + "/serverless"
        return base.rstrip("/")


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / SQLITE_FILENAME).resolve()}"
