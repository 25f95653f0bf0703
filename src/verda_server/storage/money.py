"""Exact amounts of money on every backend.

SQLite has no decimal type (SQLAlchemy's Numeric lands in a REAL there and
comes back rounded), so amounts are kept as decimal text on SQLite and as
NUMERIC on PostgreSQL. Either way a stored amount reads back exactly.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Numeric, String, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

# Charges are exact to a trillionth of the currency unit.
PLACES = 12
QUANTUM = Decimal(1).scaleb(-PLACES)


class Money(TypeDecorator[Decimal]):
    impl = Numeric(30, PLACES)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[object]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(30, PLACES, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> object:
        if value is None:
            return None
        exact = Decimal(value).quantize(QUANTUM)
        if exact != value:
            raise ValueError(f"{value} has more than {PLACES} decimal places")
        return str(exact) if dialect.name == "sqlite" else exact

    def process_result_value(self, value: object, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).quantize(QUANTUM)
