"""Server settings, built once by the CLI (or a test) and passed down explicitly."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3010
DEFAULT_DATA_DIR = Path(".verda-server")
SQLITE_FILENAME = "verda.db"


@dataclass(frozen=True)
class Lifecycle:
    """How long the timed transitions take, by the server's clock.

    Never zero by default: a client's first read after a create must still see
    `provisioning`. `INSTANT` is for callers who ask for it.
    """

    provisioning_seconds: float = 3.0
    # Longer: the Python SDK polls a new cluster at 0, 1, 3 and 7 s and must see
    # it provisioning each time.
    cluster_provisioning_seconds: float = 10.0
    clone_seconds: float = 5.0
    trash_seconds: float = 96 * 3600
    # Seeds the draw of each spot instance's eviction instant (with its id), so
    # that one seed and one catalog give the same evictions on every run.
    spot_seed: int = 0
    # Real seconds between background sweeps; None: no sweep, so that only
    # requests settle what is due (a test then decides exactly when).
    sweep_interval: float | None = 1.0


INSTANT = Lifecycle(provisioning_seconds=0.0, cluster_provisioning_seconds=0.0, clone_seconds=0.0)


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
    # Counters in this Redis, shared by every replica; None: in this process.
    redis_url: str | None = None
    # None: the one kept in the store (generated on first start).
    admin_token: str | None = None
    # Log lines: json, text, or auto (text on a terminal); set up by the command line.
    log_format: str = "auto"
    # GET /metrics without the admin token.
    metrics_public: bool = False
    # Requests kept per project in the journal.
    journal_size: int = 200
    # Shared state of several replicas (the journal); None: in this process.
    redis_url: str | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / SQLITE_FILENAME).resolve()}"
