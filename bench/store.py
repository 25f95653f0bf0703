"""Stores for the bench: a fresh database per store, and many instances written
straight into one (SQLAlchemy Core, executemany in big batches), not through HTTP.

A generated instance has what a deploy writes (instances/deploy.py): the
instance (running, nothing due), its attached OS volume, the attachment, an
open meter for each, and its project's next billing instant; each project has
its opening funding and one credential pair.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Dialect, Engine, Table, create_engine, event
from sqlalchemy.engine import make_url

LOCATIONS = ("FIN-01", "ICE-01", "FIN-02", "FIN-03")
INSTANCE_TYPE, IMAGE, OS_NAME, OS_SIZE = "CPU.4V.16G", "ubuntu-24.04", "Ubuntu 24.04", 50
PRICE = Decimal("0.14")
BALANCE = Decimal(1_000_000)
BATCH = 10_000
# Addresses outside every location's pool, so that later deploys still find free ones.
FIRST_IP = int(IPv4Address("10.0.0.0"))


@dataclass
class Generated:
    project_id: str
    client_id: str
    instance_ids: list[str] = field(default_factory=list)


@contextmanager
def database(postgres_admin_url: str | None, directory: Path, name: str) -> Iterator[str]:
    """A new, empty store: SQLite in `directory`/`name`, or a PostgreSQL database
    (dropped afterwards) when an admin URL is given."""
    if postgres_admin_url is None:
        folder = directory / name
        folder.mkdir(parents=True)
        try:
            yield f"sqlite:///{folder / 'verda-server.db'}"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    import psycopg

    db = f"verda_bench_{name}_{uuid.uuid4().hex[:8]}"
    admin = make_url(postgres_admin_url)
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    try:
        yield admin.set(database=db).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def migrate(database_url: str) -> bool:
    """A new store brought to the newest schema in this process (quicker than a
    start of the server); False when the checkout has no such function."""
    try:
        from verda_server.storage.migrate import upgrade
    except ImportError:
        return False
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            upgrade(conn)
    finally:
        engine.dispose()
    return True


def _tables() -> dict[str, Table]:
    from verda_server.storage.models import Base

    return dict(Base.metadata.tables)


def _volume_rate() -> Decimal:
    from verda_server.billing.rates import monthly_to_hourly

    return monthly_to_hourly(Decimal("0.2") * OS_SIZE)  # NVMe, usd per GB and month


def _project_rows(
    count: int, per_project: int, secret_hash: str, now: datetime
) -> tuple[list[Generated], dict[str, list[dict[str, Any]]]]:
    hourly = (PRICE + _volume_rate()) * per_project
    due = now + timedelta(hours=float(BALANCE / hourly)) if per_project else None
    made = [Generated(str(uuid.uuid4()), f"bench-{uuid.uuid4().hex[:16]}") for _ in range(count)]
    rows: dict[str, list[dict[str, Any]]] = {
        "projects": [
            {
                "id": g.project_id,
                "name": f"bench {n}",
                "balance": BALANCE,
                "currency": "usd",
                "is_default": False,
                "created_at": now,
                "billing_due_at": due,
                # Room for the deploys the bench adds (1 000-instance row's writes).
                "instance_quota": 10_000,
                "volume_quota": 10_000,
            }
            for n, g in enumerate(made)
        ],
        "fundings": [
            {
                "id": str(uuid.uuid4()),
                "project_id": g.project_id,
                "kind": "opening",
                "amount": BALANCE,
                "created_at": now,
            }
            for g in made
        ],
        "credentials": [
            {
                "client_id": g.client_id,
                "project_id": g.project_id,
                "secret_hash": secret_hash,
                "created_at": now,
            }
            for g in made
        ],
    }
    return made, rows


class _Ids:
    """Distinct UUIDs, cheaper than uuid4 each: a random base and a counter."""

    def __init__(self) -> None:
        self.base, self.n = uuid.uuid4().int & ~((1 << 48) - 1), 0

    def __call__(self) -> str:
        self.n += 1
        return str(uuid.UUID(int=self.base | self.n))


def _templates(now: datetime, volume_rate: Decimal) -> dict[str, dict[str, Any]]:
    """Each table's row for one instance: the constant values, and None where
    `_varying` fills a value per row."""

    def meter(kind: str, rate: Decimal) -> dict[str, Any]:
        return {
            "id": None,
            "project_id": None,
            "resource_kind": kind,
            "resource_id": None,
            "rate_per_hour": rate,
            "opened_at": now,
            "charged": Decimal(0),
            "charged_until": now,
        }

    return {
        "volumes": {
            "id": None,
            "project_id": None,
            "name": None,
            "size": OS_SIZE,
            "type": "NVMe",
            "location": None,
            "status": "attached",
            "is_os_volume": True,
            "image_type": IMAGE,
            "contract": "PAY_AS_YOU_GO",
            "pseudo_path": None,
            "on_spot_discontinue": "keep_detached",
            "created_at": now,
            "is_permanently_deleted": False,
        },
        "instances": {
            "id": None,
            "project_id": None,
            "instance_type": INSTANCE_TYPE,
            "location": None,
            "status": "running",
            "hostname": None,
            "description": "generated by bench/store.py",
            "image": IMAGE,
            "os_name": OS_NAME,
            "ip": None,
            "ip_number": None,
            "jupyter_token": None,
            "is_spot": False,
            "contract": "PAY_AS_YOU_GO",
            "pricing": "FIXED_PRICE",
            "price_per_hour": PRICE,
            "currency": "usd",
            "os_volume_id": None,
            "created_at": now,
        },
        "volume_attachments": {
            "volume_id": None,
            "instance_id": None,
            "target": "vda",
            "position": 0,
        },
        "instance_meters": meter("instance", PRICE),
        "volume_meters": meter("volume", volume_rate),
    }


def _varying(project_id: str, n: int, ids: _Ids) -> tuple[str, dict[str, dict[str, Any]]]:
    """What differs between the rows of the n-th instance of the store, by table."""
    instance_id, volume_id = ids(), ids()
    location = LOCATIONS[n % len(LOCATIONS)]
    return instance_id, {
        "volumes": {
            "id": volume_id,
            "project_id": project_id,
            "name": f"OS-NVMe-{n:08x}",
            "location": location,
            "pseudo_path": f"volume-bench{n:010d}",
        },
        "instances": {
            "id": instance_id,
            "project_id": project_id,
            "location": location,
            "hostname": f"bench-{n}",
            "ip": str(IPv4Address(FIRST_IP + n)),
            "ip_number": FIRST_IP + n,
            "jupyter_token": f"{n:032x}",
            "os_volume_id": volume_id,
        },
        "volume_attachments": {"volume_id": volume_id, "instance_id": instance_id},
        "instance_meters": {"id": ids(), "project_id": project_id, "resource_id": instance_id},
        "volume_meters": {"id": ids(), "project_id": project_id, "resource_id": volume_id},
    }


# Insert order: what a row refers to goes first.
_ORDER = ("volumes", "instances", "volume_attachments", "instance_meters", "volume_meters")
_TABLE = {"instance_meters": "meters", "volume_meters": "meters"}


class _Writer:
    """Rows of one table, written with the driver's own bulk path (COPY on
    PostgreSQL, executemany on SQLite): SQLAlchemy's per-row work would cost
    more than the insert. The constants go through the columns' bind processors
    (the store's own money and instant formats) once."""

    def __init__(self, dialect: Dialect, table: Table, template: dict[str, Any]) -> None:
        # Columns an older checkout's schema lacks (ip_number before 0018) are left out.
        template = {c: v for c, v in template.items() if c in table.c}
        self.table, self.columns = table, list(template)
        self.base = [_bound(dialect, table, c, v) for c, v in template.items()]
        self.slots = {c: i for i, c in enumerate(self.columns) if template[c] is None}
        self.rows: list[tuple[Any, ...]] = []

    def add(self, values: dict[str, Any]) -> None:
        row = self.base.copy()
        for column, value in values.items():
            if column in self.slots:
                row[self.slots[column]] = value
        self.rows.append(tuple(row))

    def flush(self, conn: Connection) -> None:
        if not self.rows:
            return
        raw = conn.connection.dbapi_connection
        assert raw is not None
        names = ", ".join(self.columns)
        if conn.dialect.name == "postgresql":
            with (
                raw.cursor() as cursor,
                cursor.copy(  # type: ignore[attr-defined]
                    f"COPY {self.table.name} ({names}) FROM STDIN"
                ) as copy,
            ):
                for row in self.rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(self.columns))
            cursor = raw.cursor()
            cursor.executemany(
                f"INSERT INTO {self.table.name} ({names}) VALUES ({marks})", self.rows
            )
            cursor.close()
        self.rows.clear()


def _bound(dialect: Dialect, table: Table, column: str, value: Any) -> Any:
    processor = table.c[column].type._cached_bind_processor(dialect)
    return value if processor is None or value is None else processor(value)


def _engine(database_url: str) -> Engine:
    engine = create_engine(database_url)
    if engine.dialect.name == "sqlite":
        # A bench store needs no durability while it is written.
        event.listen(
            engine, "connect", lambda dbapi, _record: dbapi.execute("PRAGMA synchronous=OFF")
        )
    return engine


def generate(
    database_url: str, projects: int, per_project: int, client_secret: str
) -> list[Generated]:
    """`projects` new projects of `per_project` running instances each, in a
    migrated store (start the server on it once first). Every credential has
    `client_secret` (one scrypt hash shared, so that this stays fast)."""
    from verda_server.auth.secrets import hash_secret

    tables = _tables()
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    made, head = _project_rows(projects, per_project, hash_secret(client_secret), now)
    engine, ids = _engine(database_url), _Ids()
    try:
        with engine.begin() as conn:
            for name in ("projects", "fundings", "credentials"):
                conn.execute(tables[name].insert(), head[name])
            writers = {
                name: _Writer(conn.dialect, tables[_TABLE.get(name, name)], template)
                for name, template in _templates(now, _volume_rate()).items()
            }
        n = 0
        for g in made:
            for _ in range(per_project):
                instance_id, by_table = _varying(g.project_id, n, ids)
                g.instance_ids.append(instance_id)
                for name, values in by_table.items():
                    writers[name].add(values)
                n += 1
                if n % BATCH == 0 or n == projects * per_project:
                    with engine.begin() as conn:
                        for name in _ORDER:
                            writers[name].flush(conn)
    finally:
        engine.dispose()
    return made


def instance_paths(made: Sequence[Generated]) -> tuple[list[str], list[int]]:
    """Every item path of the store, and the index of its project in `made`."""
    paths, owners = [], []
    for index, g in enumerate(made):
        for instance_id in g.instance_ids:
            paths.append(f"/v1/instances/{instance_id}")
            owners.append(index)
    return paths, owners
