"""`verda-server projects …`: operator commands that act on the store directly."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from verda_server.api.errors import ApiError
from verda_server.billing import funds
from verda_server.billing.rates import exact
from verda_server.cli_common import fail, safe_url, store_url
from verda_server.clock import Clock
from verda_server.config import DEFAULT_DATA_DIR
from verda_server.projects import service as projects
from verda_server.projects.models import Project
from verda_server.ratelimits.config import (
    MAX_LIMIT,
    PROJECT_LIMIT,
    WINDOW_SECONDS,
    ProjectRateLimits,
)
from verda_server.ratelimits.service import set_project_limits
from verda_server.startup_scripts.service import HARD_MAX_QUOTA, set_quota
from verda_server.storage.database import Database
from verda_server.storage.migrate import startup_lock, upgrade
from verda_server.storage.money import PLACES

# Far below what the balance column holds (18 digits before the point), so
# that no amount of charging or topping up can overflow it.
MAX_BALANCE = Decimal(10) ** 12

app = typer.Typer(no_args_is_help=True, help="Manage projects and their credentials.")

DataDir = Annotated[
    Path, typer.Option(envvar="VERDA_SERVER_DATA_DIR", help="Where the SQLite store lives.")
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(envvar="VERDA_SERVER_DATABASE_URL", help="SQLAlchemy URL of the store."),
]


def _open(data_dir: Path, database_url: str | None) -> Database:
    database_url = store_url(data_dir, database_url)
    try:
        db = Database(database_url)
        with startup_lock(db) as connection:
            upgrade(connection)
    except (SQLAlchemyError, OSError) as exc:
        fail(f"cannot open the store {safe_url(database_url)}: {exc}")
    return db


@contextmanager
def _writing(data_dir: Path, database_url: str | None) -> Iterator[Session]:
    """One write to the store; a refusal of the domain ends the command with status 1."""
    db = _open(data_dir, database_url)
    try:
        with db.write() as session:
            yield session
    except ApiError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    finally:
        db.dispose()


@app.command("list")
def list_projects(data_dir: DataDir = DEFAULT_DATA_DIR, database_url: DatabaseUrl = None) -> None:
    """List projects: id, balance, startup script quota, name."""
    db = _open(data_dir, database_url)
    now = Clock().now()
    with db.read() as session:
        for p in session.scalars(select(Project).order_by(Project.created_at)):
            default = " (default)" if p.is_default else ""
            balance = funds.balance_now(session, p, now)
            typer.echo(
                f"{p.id}  {balance:.2f} {p.currency}  scripts<={p.startup_script_quota}  "
                f"{p.name}{default}"
            )
    db.dispose()


def _amount(text: str) -> Decimal:
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise typer.BadParameter("balance must be a number") from exc
    if not amount.is_finite() or not 0 <= amount < MAX_BALANCE:
        raise typer.BadParameter(f"balance must be a number from 0 to below {MAX_BALANCE}")
    if amount != exact(amount):
        raise typer.BadParameter(f"balance has more than {PLACES} decimal places")
    return amount


@app.command("create")
def create_project(
    name: Annotated[str, typer.Option(help="Project name.")] = "Project",
    balance: Annotated[str, typer.Option(help="Initial balance.")] = "1000",
    currency: Annotated[str, typer.Option(help="usd or eur.")] = "usd",
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a project with one credential pair, printed once."""
    if currency not in ("usd", "eur"):
        raise typer.BadParameter("currency must be usd or eur")
    amount = _amount(balance)
    db = _open(data_dir, database_url)
    clock = Clock()
    with db.write() as session:
        project = projects.create_project(
            session, clock, name=name, balance=amount, currency=currency
        )
        client_id, secret = projects.add_credential(session, clock, project.id)
    db.dispose()
    typer.echo(f"project {project.id}")
    typer.echo(f"export VERDA_CLIENT_ID={client_id} VERDA_CLIENT_SECRET={secret}")


@app.command("set-balance")
def set_balance(
    project_id: Annotated[str, typer.Argument(help="The project's id.")],
    amount: Annotated[str, typer.Argument(help="The new balance, in the project's currency.")],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
) -> None:
    """Set a project's balance; the difference is booked as a top-up (or a
    correction). A project whose money ran out can deploy again."""
    value = _amount(amount)
    with _writing(data_dir, database_url) as session:
        project = session.get(Project, project_id)
        if project is None:
            raise ApiError("not_found", f"Project {project_id} not found")
        change = funds.set_balance(session, project, Clock().now(), value)
        currency = project.currency
    typer.echo(f"project {project_id}: balance {value:f} {currency} ({change.normalize():+f})")


@app.command("set-quota")
def set_script_quota(
    project_id: Annotated[str, typer.Argument(help="The project's id.")],
    startup_scripts: Annotated[
        int, typer.Option(min=0, max=HARD_MAX_QUOTA, help="Most startup scripts it may hold.")
    ],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
) -> None:
    """Set a project's startup script quota (default 100, at most 1000)."""
    with _writing(data_dir, database_url) as session:
        set_quota(session, project_id, startup_scripts)
    typer.echo(f"project {project_id}: at most {startup_scripts} startup scripts")


@app.command("add-credential")
def add_credential(
    project_id: Annotated[str, typer.Argument(help="The project's id.")],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
) -> None:
    """Give a project another credential pair, printed once."""
    with _writing(data_dir, database_url) as session:
        if session.get(Project, project_id) is None:
            raise ApiError("not_found", f"Project {project_id} not found")
        client_id, secret = projects.add_credential(session, Clock(), project_id)
    typer.echo(f"export VERDA_CLIENT_ID={client_id} VERDA_CLIENT_SECRET={secret}")


@app.command("revoke-credential")
def revoke_credential(
    client_id: Annotated[str, typer.Argument(help="The credential's client id.")],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
) -> None:
    """Delete a credential: its access and refresh tokens stop working at once,
    also on servers running on this store."""
    with _writing(data_dir, database_url) as session:
        project_id = projects.revoke_credential(session, client_id)
    typer.echo(f"credential {client_id} of project {project_id} revoked")


@app.command("set-rate-limits")
def set_rate_limits(
    project_id: Annotated[str, typer.Argument(help="The project's id.")],
    project: Annotated[
        int | None,
        typer.Option(
            "--project", min=1, max=MAX_LIMIT, help="Requests per window for the whole project."
        ),
    ] = None,
    endpoint: Annotated[
        int | None,
        typer.Option(min=1, max=MAX_LIMIT, help="Requests per window per method + path."),
    ] = None,
    off: Annotated[bool, typer.Option("--off", help="No rate limits for this project.")] = False,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
) -> None:
    """Set a project's own rate limits, replacing what it had (an option left
    out: the server's default; none at all: back to the defaults). Servers on
    this store apply it from the project's next request."""
    limits = ProjectRateLimits(enabled=False if off else None, project=project, endpoint=endpoint)
    with _writing(data_dir, database_url) as session:
        set_project_limits(session, project_id, limits)
    if off:
        typer.echo(f"project {project_id}: no rate limits")
    else:
        typer.echo(
            f"project {project_id}: {project or f'{PROJECT_LIMIT} (default)'} requests per "
            f"project, {endpoint or 'the default'} per endpoint, per {WINDOW_SECONDS} s window"
        )
