"""Projects and their credentials: first-start bootstrap and balances."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, bindparam, delete, select, update
from sqlalchemy.orm import Session

from verda_server.api.errors import ApiError, forbidden, invalid, not_found
from verda_server.auth.models import Credential, RefreshToken
from verda_server.auth.secrets import (
    check_secret,
    hash_secret,
    new_client_id,
    new_client_secret,
)
from verda_server.billing import ledger
from verda_server.billing.models import Funding, Meter
from verda_server.clock import Clock
from verda_server.projects.models import Project


@dataclass(frozen=True)
class Bootstrap:
    """What the first start created, so the CLI can show it exactly once."""

    project_id: str
    client_id: str
    client_secret: str | None  # only known when created or configured now
    created: bool


def create_project(
    session: Session,
    clock: Clock,
    *,
    name: str,
    balance: Decimal,
    currency: str = "usd",
    is_default: bool = False,
) -> Project:
    project = Project(
        id=str(uuid.uuid4()),
        name=name,
        balance=balance,
        currency=currency,
        is_default=is_default,
        created_at=clock.now(),
    )
    session.add(project)
    session.flush()
    record_funding(session, project, "opening", balance, project.created_at)
    return project


def record_funding(
    session: Session, project: Project, kind: str, amount: Decimal, at: datetime
) -> None:
    session.add(
        Funding(
            id=str(uuid.uuid4()), project_id=project.id, kind=kind, amount=amount, created_at=at
        )
    )


def add_credential(
    session: Session,
    clock: Clock,
    project_id: str,
    client_id: str | None = None,
    client_secret: str | None = None,
) -> tuple[str, str]:
    client_id = client_id or new_client_id()
    client_secret = client_secret or new_client_secret()
    session.add(
        Credential(
            client_id=client_id,
            project_id=project_id,
            secret_hash=hash_secret(client_secret),
            created_at=clock.now(),
        )
    )
    session.flush()
    return client_id, client_secret


def revoke_credential(session: Session, client_id: str) -> str:
    """Delete a credential (its refresh tokens go with it, by cascade); its access
    tokens stop working at once, because every request checks the credential.
    Returns the project it belonged to."""
    project_id = session.scalar(
        delete(Credential).where(Credential.client_id == client_id).returning(Credential.project_id)
    )
    if project_id is None:
        raise not_found(f"Credential {client_id} not found")
    return project_id


def bootstrap(
    session: Session,
    clock: Clock,
    *,
    balance: Decimal,
    currency: str,
    client_id: str | None,
    client_secret: str | None,
) -> Bootstrap:
    """Make sure the default project exists and holds the configured credential."""
    project = session.scalar(select(Project).where(Project.is_default.is_(True)))
    created = project is None
    if project is None:
        project = create_project(
            session,
            clock,
            name="Default project",
            balance=balance,
            currency=currency,
            is_default=True,
        )
    if client_id and client_secret:
        credential = session.get(Credential, client_id)
        if credential is None:
            add_credential(session, clock, project.id, client_id, client_secret)
        elif not check_secret(client_secret, credential.secret_hash):
            # The configured pair is the truth: an operator rotating the
            # secret through the environment must not be locked out, and
            # whatever the old secret obtained must stop working (its refresh
            # tokens here, its access tokens through the new hash's stamp).
            credential.secret_hash = hash_secret(client_secret)
            session.execute(
                update(RefreshToken)
                .where(RefreshToken.client_id == client_id, RefreshToken.revoked_at.is_(None))
                .values(revoked_at=clock.now())
            )
        return Bootstrap(project.id, client_id, client_secret, created)
    existing = session.scalar(
        select(Credential.client_id)
        .where(Credential.project_id == project.id)
        .order_by(Credential.created_at)
        .limit(1)
    )
    if existing is not None:
        return Bootstrap(project.id, existing, None, created)
    new_id, new_secret = add_credential(session, clock, project.id)
    return Bootstrap(project.id, new_id, new_secret, True)


@dataclass(frozen=True)
class CredentialBalance:
    balance: Decimal
    currency: str
    # Its (project_id, secret_hash) and its project's rate limits, for the token
    # check (TokenService.principal).
    credential: tuple[Any, ...]


@dataclass(frozen=True)
class BalanceParts:
    """What a project's balance at any instant is computed from: its ledger
    balance and its open meters. Valid while the project's generation holds and
    nothing of it falls due (readmodel/)."""

    balance: Decimal
    currency: str
    meters: tuple[ledger.Accrual, ...]

    def at(self, now: datetime) -> Decimal:
        # What has accrued since the last charge counts, without writing it down.
        return self.balance - ledger.owed_by_all(self.meters, now)

    @classmethod
    def of(cls, rows: Sequence[Any]) -> BalanceParts:
        """From rows of the project's columns beside its open meters' (outer joined)."""
        meters = tuple(ledger.Accrual.of(m) for m in rows if m.rate_per_hour is not None)
        return cls(rows[0].balance, rows[0].currency, meters)


def balance_body(amount: Decimal, currency: str) -> bytes:
    """The JSON of GET /v1/balance, the amount written exactly as the ledger
    holds it (a float would round it)."""
    amount = amount.normalize() if amount else Decimal(0)  # never "-0"
    return f'{{"amount":{amount:f},"currency":"{currency}"}}'.encode()


_METER_COLUMNS = (
    Meter.rate_per_hour,
    Meter.opened_at,
    Meter.charged,
    Meter.rate_until,
    Meter.next_rate,
)
_OPEN_METERS = and_(Meter.project_id == Project.id, Meter.closed_at.is_(None))
# Built once: the hottest authenticated read pays for no statement construction.
# One statement reads the project, the credential (for the token check) and the
# open meters (for what has accrued since the last charge).
_BALANCE = (
    select(
        Project.balance,
        Project.currency,
        Credential.project_id,
        Credential.secret_hash,
        Project.rate_limits_enabled,
        Project.rate_limit_project,
        Project.rate_limit_endpoint,
        *_METER_COLUMNS,
    )
    .select_from(Credential)
    .join(Project, Project.id == Credential.project_id)
    .outerjoin(Meter, _OPEN_METERS)
    .where(Credential.client_id == bindparam("client_id"))
)
_PARTS = (
    select(Project.balance, Project.currency, *_METER_COLUMNS)
    .outerjoin(Meter, _OPEN_METERS)
    .where(Project.id == bindparam("project_id"))
)


def balance_parts(session: Session, project_id: str) -> BalanceParts | None:
    rows = session.connection().execute(_PARTS, {"project_id": project_id}).all()
    return BalanceParts.of(rows) if rows else None


_GENERATION = select(Project.generation).where(Project.id == bindparam("project_id"))


def generation_of(session: Session, project_id: str) -> int | None:
    """The project's generation (storage/generation.py); None if it is gone."""
    return session.scalar(_GENERATION, {"project_id": project_id})


def get_balance(session: Session, client_id: str, now: datetime) -> CredentialBalance | None:
    """The balance of the credential's project at `now`, and the credential
    itself, read together: the token is checked without a read of its own.
    None when there is no such credential."""
    rows = session.connection().execute(_BALANCE, {"client_id": client_id}).all()
    if not rows:
        return None
    row = rows[0]
    return CredentialBalance(
        BalanceParts.of(rows).at(now),
        row.currency,
        (
            row.project_id,
            row.secret_hash,
            row.rate_limits_enabled,
            row.rate_limit_project,
            row.rate_limit_endpoint,
        ),
    )


# ---- what the operator commands and the control API share ----------------

# The client id column's width; printable ASCII without spaces, so that the
# pair can be exported as shell variables and sent in a form body unquoted.
MAX_CLIENT_ID = 128
MAX_CLIENT_SECRET = 256


def _check_text(field: str, value: str, most: int) -> None:
    if not 1 <= len(value) <= most or not all("!" <= c <= "~" for c in value):
        raise invalid(f"{field}: 1 to {most} printable ASCII characters without spaces")


def new_credential(
    session: Session,
    clock: Clock,
    project_id: str,
    client_id: str | None = None,
    client_secret: str | None = None,
) -> tuple[str, str]:
    """Another credential pair for a project: the one given (both or neither,
    like `verda-server serve --client-id/--client-secret`) or a generated one."""
    if (client_id is None) != (client_secret is None):
        raise invalid("give both client_id and client_secret, or neither")
    if client_id is not None and client_secret is not None:
        _check_text("client_id", client_id, MAX_CLIENT_ID)
        _check_text("client_secret", client_secret, MAX_CLIENT_SECRET)
        if session.get(Credential, client_id) is not None:
            raise ApiError("conflict", f"Client id {client_id} is taken")
    get_project(session, project_id)
    return add_credential(session, clock, project_id, client_id, client_secret)


def revoke_project_credential(session: Session, project_id: str, client_id: str) -> None:
    """Revoke a credential of this project (another project's is not found here)."""
    get_project(session, project_id)
    credential = session.get(Credential, client_id)
    if credential is None or credential.project_id != project_id:
        raise not_found(f"Credential {client_id} not found in project {project_id}")
    revoke_credential(session, client_id)


def credentials_of(
    session: Session, project_id: str, client_id: str | None = None
) -> list[Credential]:
    """Oldest first; only `client_id`'s when given."""
    query = select(Credential).where(Credential.project_id == project_id)
    if client_id is not None:
        query = query.where(Credential.client_id == client_id)
    return list(session.scalars(query.order_by(Credential.created_at, Credential.client_id)))


def get_project(session: Session, project_id: str) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise not_found(f"Project {project_id} not found")
    return project


def all_projects(session: Session) -> list[Project]:
    return list(session.scalars(select(Project).order_by(Project.created_at, Project.id)))


def delete_project(session: Session, project_id: str) -> None:
    """A project with everything in it: instances, volumes, clusters, keys,
    scripts, tags, credentials and their tokens, meters, charges and fundings
    go by the store's cascades; capacity and addresses are free at once, since
    both are counted from the instances and clusters that exist. Its access
    tokens stop working on the next request (their credential is gone)."""
    project = get_project(session, project_id)
    if project.is_default:
        raise forbidden(
            "The default project can't be deleted: every start would create it again; "
            "delete its resources instead"
        )
    session.execute(delete(Project).where(Project.id == project_id))
