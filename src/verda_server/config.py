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

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / SQLITE_FILENAME).resolve()}"
