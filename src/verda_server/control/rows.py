"""Store rows as JSON values and back, exactly, for any column of the ORM metadata.

Amounts travel as decimal strings (a JSON number would round), instants as
RFC 3339 with microseconds and a zone. A value read back is checked against
its column as strictly as the strictest backend would (PostgreSQL's lengths
and integer ranges), so a snapshot imports the same way into either.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Column, Integer, String, Table

from verda_server.storage.base import UTCDateTime
from verda_server.storage.money import PLACES, QUANTUM, Money

# Numeric(30, 12): eighteen digits before the point.
_MONEY_LIMIT = Decimal(10) ** (30 - PLACES)


class BadRow(ValueError):
    """A value the column cannot hold; the message names what is wrong."""


def encode(column: Column[Any], value: Any) -> Any:
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, Money):
        return str(value)
    if isinstance(kind, UTCDateTime):
        return value.isoformat(timespec="microseconds")
    if isinstance(kind, JSON):
        return value
    if isinstance(kind, Boolean):
        return bool(value)
    if isinstance(kind, Integer):
        return int(value)
    if isinstance(kind, String):  # Text too
        return str(value)
    # A new kind of column must say how it travels before a snapshot can hold it.
    raise TypeError(f"{column.table.name}.{column.name}: no snapshot encoding for {kind!r}")


def _money(value: Any) -> Decimal:
    if not isinstance(value, str):
        raise BadRow('an amount is a decimal string (e.g. "12.5")')
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise BadRow(f"{value!r} is not a decimal amount") from None
    if not amount.is_finite() or abs(amount) >= _MONEY_LIMIT:
        raise BadRow(f"{value!r} is out of range")
    if amount.quantize(QUANTUM) != amount:
        raise BadRow(f"{value!r} has more than {PLACES} decimal places")
    return amount


def _instant(value: Any) -> datetime:
    if not isinstance(value, str):
        raise BadRow("an instant is an RFC 3339 string")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRow(f"{value!r} is not an RFC 3339 instant") from None
    if moment.tzinfo is None:
        raise BadRow(f"{value!r} has no time zone")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise BadRow(f"{value!r} is out of range") from None


def _integer(column: Column[Any], value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRow("an integer is expected")
    bits = 63 if isinstance(column.type, BigInteger) else 31
    if not -(2**bits) <= value < 2**bits:
        raise BadRow(f"{value} is out of range")
    return value


def _string(column: Column[Any], value: Any) -> str:
    if not isinstance(value, str):
        raise BadRow("a string is expected")
    length = getattr(column.type, "length", None)
    if length is not None and len(value) > length:
        raise BadRow(f"at most {length} characters")
    return value


def decode(column: Column[Any], value: Any) -> Any:
    if value is None:
        if not column.nullable:
            raise BadRow("may not be null")
        return None
    kind = column.type
    if isinstance(kind, Money):
        return _money(value)
    if isinstance(kind, UTCDateTime):
        return _instant(value)
    if isinstance(kind, JSON):
        return value
    if isinstance(kind, Boolean):
        if not isinstance(value, bool):
            raise BadRow("true or false is expected")
        return value
    if isinstance(kind, Integer):
        return _integer(column, value)
    if isinstance(kind, String):
        return _string(column, value)
    raise TypeError(f"{column.table.name}.{column.name}: no snapshot decoding for {kind!r}")


def columns(table: Table) -> list[Column[Any]]:
    """The columns a snapshot carries: not the store's own bookkeeping, which a
    column opts out of with info={"snapshot": False}."""
    return [column for column in table.columns if column.info.get("snapshot", True)]


def encode_row(table: Table, row: Any) -> dict[str, Any]:
    return {column.name: encode(column, row[column.name]) for column in columns(table)}


def decode_row(table: Table, row: Any, where: str) -> dict[str, Any]:
    """The row's values for an insert; BadRow names `where` it went wrong."""
    if not isinstance(row, dict):
        raise BadRow(f"{where}: a row is an object of column values")
    names = [column.name for column in columns(table)]
    missing = [name for name in names if name not in row]
    unknown = sorted(set(row) - set(names))
    if missing or unknown:
        parts = [f"missing {', '.join(missing)}"] if missing else []
        parts += [f"unknown {', '.join(unknown)}"] if unknown else []
        raise BadRow(f"{where}: {'; '.join(parts)}")
    values = {}
    for column in columns(table):
        try:
            values[column.name] = decode(column, row[column.name])
        except BadRow as exc:
            raise BadRow(f"{where}.{column.name}: {exc}") from None
    return values


def sort_key(table: Table) -> Any:
    """Orders encoded rows by primary key, the same on every backend (their
    collations differ, so the store's ORDER BY would not)."""
    keys = [column.name for column in table.primary_key.columns] or [c.name for c in table.columns]
    return lambda row: tuple((row[name] is None, row[name]) for name in keys)
