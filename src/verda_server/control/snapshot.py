"""The whole state as one JSON document: exported from a server, imported into another.

Generic over the ORM metadata, so a table added later travels without a change
here: every table's rows (in foreign-key order), the operator-set control state
(the clock as this server runs it), the store's schema revision and a format
version. Not exported: the admin token, which belongs to the server that holds
it, and this module's own bookkeeping.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from verda_server import __version__
from verda_server.api.errors import ApiError, invalid
from verda_server.auth.signing import KeyRing
from verda_server.clock import Clock, isoformat
from verda_server.control import clock as stored_clock
from verda_server.control import faults, lifecycle, rows
from verda_server.control import token as admin_token
from verda_server.control.models import ControlState
from verda_server.control.shared import SharedState, read_value, write_value
from verda_server.lifecycle.timings import MAX_SECONDS
from verda_server.projects.models import Project
from verda_server.storage.database import Database
from verda_server.storage.generation import StoreGeneration
from verda_server.storage.ip import ip_number
from verda_server.storage.models import Base

FORMAT = "verda-server-snapshot"
VERSION = 1
# Changed by every import, so that every replica reloads what it keeps of the
# store in memory (the signing keys).
REPLACED = "store_replaced"
# Control state that stays with the server: never exported, never imported.
LOCAL = frozenset({admin_token.NAME, REPLACED})
# What a freshly started server already holds, and an import may replace:
# its default project (with credentials, tokens and fundings), its signing keys
# and its control state. A row in any other table, or another project, is state
# an import would destroy.
FRESH = frozenset({"projects", "credentials", "refresh_tokens", "fundings", "signing_keys"})
# The control state travels apart; the generation counter never: an import must
# not bring back generations a reader still remembers (storage/generation.py).
_APART = frozenset({ControlState.__table__, StoreGeneration.__table__})


def tables() -> list[Table]:
    """Every table of the snapshot, parents before children."""
    return [table for table in Base.metadata.sorted_tables if table not in _APART]


def revision(session: Session) -> str | None:
    from alembic.runtime.migration import MigrationContext  # only here: keeps the start quick

    return MigrationContext.configure(session.connection()).get_current_revision()


def export(db: Database, clock: Clock) -> dict[str, Any]:
    # In a writer's turn: every table as of one instant, on both backends.
    with db.write() as session:
        document: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "revision": revision(session),
            "server_version": __version__,
            "exported_at": isoformat(clock.now()),
            "control": _export_control(session, clock),
            "tables": {},
        }
        for table in tables():
            encoded = [
                rows.encode_row(table, row) for row in session.execute(select(table)).mappings()
            ]
            encoded.sort(key=rows.sort_key(table))
            document["tables"][table.name] = encoded
    return document


def _export_control(session: Session, clock: Clock) -> dict[str, Any]:
    stored = session.execute(select(ControlState.name, ControlState.value)).all()
    values = {name: json.loads(value) for name, value in stored if name not in LOCAL}
    # The clock as it runs here (a test may have moved it in-process), and
    # always: an import must set the time the state was taken at.
    values[stored_clock.NAME] = stored_clock.encode(clock.state())
    # A value set back to nothing is the same as one never set.
    return {name: values[name] for name in sorted(values) if values[name] is not None}


def _validate(document: Mapping[str, Any], store_revision: str | None) -> dict[str, list[Any]]:
    """Each table's rows, decoded for insertion; any fault is a 400 naming it."""
    if document.get("format") != FORMAT:
        raise invalid(f"format: not a verda-server snapshot (expected {FORMAT!r})")
    if document.get("version") != VERSION:
        raise invalid(
            f"version: this server reads snapshot format version {VERSION}, "
            f"not {document.get('version')!r}"
        )
    if document.get("revision") != store_revision:
        raise invalid(
            f"revision: the snapshot was taken of store revision {document.get('revision')!r}, "
            f"this server's store is at {store_revision!r}"
        )
    control = document["control"]
    local = sorted(set(control) & LOCAL)
    if local:
        raise invalid(f"control.{local[0]}: stays with the server, never part of a snapshot")
    for name in control:
        if len(name) > ControlState.__table__.c.name.type.length:
            raise invalid(f"control: name {name[:70]!r} is too long")
    if stored_clock.NAME in control:
        _check_clock(control[stored_clock.NAME])
    # Checked before the store takes them: applied after, a value no handler
    # can read would fail the import half-way, and every later start.
    for name, check in _CHECKS.items():
        try:
            check(control.get(name))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise invalid(f"control.{name}: {exc}") from None
    given = document["tables"]
    expected = {table.name: table for table in tables()}
    unknown = sorted(set(given) - set(expected))
    missing = sorted(set(expected) - set(given))
    if unknown or missing:
        parts = [f"missing {', '.join(missing)}"] if missing else []
        parts += [f"unknown {', '.join(unknown)}"] if unknown else []
        raise invalid(f"tables: {'; '.join(parts)}")
    decoded: dict[str, list[Any]] = {}
    try:
        for name, table in expected.items():
            decoded[name] = [
                rows.decode_row(table, row, f"tables.{name}[{index}]")
                for index, row in enumerate(given[name])
            ]
    except rows.BadRow as exc:
        raise invalid(str(exc)) from None
    # The address as an integer follows its text, whatever the document says:
    # the lowest free address is found by the integer (instances/addresses.py).
    for name in ("instances", "clusters"):
        for row in decoded[name]:
            row["ip_number"] = ip_number(row["ip"])
    defaults = sum(1 for project in decoded["projects"] if project["is_default"])
    if defaults != 1:
        raise invalid(f"tables.projects: exactly one default project, not {defaults}")
    return decoded


def _check_lifecycle(value: Any) -> None:
    if value is None:
        return
    overrides = value.get("overrides") or {}
    if not isinstance(overrides, dict):
        raise ValueError("overrides: not an object")
    for name, seconds in overrides.items():
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise ValueError(f"overrides.{name}: not a number of seconds")
        if not 0 <= seconds <= MAX_SECONDS:
            raise ValueError(f"overrides.{name}: out of range")
    lifecycle.decode(value)


_CHECKS = {faults.NAME: faults.check, lifecycle.NAME: _check_lifecycle}


def _check_clock(value: Any) -> None:
    try:
        state = stored_clock.decode(value)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
        raise invalid("control.clock: not a clock state") from None
    if state.frozen_at is not None and state.frozen_at.tzinfo is None:
        raise invalid("control.clock: frozen_at has no time zone")


def occupied(session: Session) -> dict[str, int]:
    """What makes the store not empty (rows per table beyond a fresh server's);
    nothing when it is."""
    held: dict[str, int] = {}
    others = session.scalar(
        select(func.count()).select_from(Project).where(Project.is_default.is_(False))
    )
    if others:
        held["projects"] = int(others)
    for table in tables():
        if table.name not in FRESH:
            count = int(session.scalar(select(func.count()).select_from(table)) or 0)
            if count:
                held[table.name] = count
    return held


def _not_empty(held: Mapping[str, int]) -> ApiError:
    what = ", ".join(f"{count} {name}" for name, count in held.items())
    return ApiError(
        "conflict",
        f"The server is not empty ({what}): reset it with drop_projects, "
        "or import with ?replace=true to wipe it first",
    )


def import_(
    db: Database, shared: SharedState, document: Mapping[str, Any], replace: bool
) -> dict[str, int]:
    """Replace the store's state with the snapshot's, in one transaction: all
    of it or nothing. Returns the rows imported per table."""
    with db.read() as session:
        decoded = _validate(document, revision(session))
    control: dict[str, Any] = document["control"]
    try:
        with db.write() as session:
            if not replace:
                held = occupied(session)
                if held:
                    raise _not_empty(held)
            for table in reversed(tables()):
                session.execute(delete(table))
            for table in tables():
                if decoded[table.name]:
                    session.execute(insert(table), decoded[table.name])
            _import_control(session, control)
    except (IntegrityError, DataError) as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise invalid(f"The snapshot breaks the store's constraints: {reason}") from None
    # Mirror the new state here at once; other replicas follow by generation.
    shared.load()
    return {name: len(values) for name, values in decoded.items()}


def _import_control(session: Session, control: Mapping[str, Any]) -> None:
    # Names the snapshot lacks are set to nothing rather than deleted, so that
    # every replica learns of it (each follows values by their generation).
    present = set(session.scalars(select(ControlState.name)))
    for name in sorted(present - LOCAL - set(control)):
        write_value(session, name, None)
    for name in sorted(control):
        write_value(session, name, control[name])
    imports = int((read_value(session, REPLACED) or {}).get("count", 0)) + 1
    write_value(session, REPLACED, {"count": imports})


def follow(shared: SharedState, keys: KeyRing) -> None:
    """Reload the signing keys whenever an import replaced them (here or on
    another replica); a snapshot without any gets a new one."""

    def apply(value: Any) -> None:
        if value is not None:
            keys.ensure()

    shared.on(REPLACED, apply)
