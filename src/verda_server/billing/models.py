from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from verda_server.storage.base import Base, UTCDateTime
from verda_server.storage.money import Money


class Meter(Base):
    """What one resource costs at one rate, from `opened_at` until `closed_at`.

    A rate change closes the meter and opens another, so every meter has one
    rate; `charged` is what it has charged so far, up to `charged_until`.
    """

    __tablename__ = "meters"
    __table_args__ = (
        Index("ix_meters_project_open", "project_id", "closed_at"),
        Index("ix_meters_resource", "resource_kind", "resource_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    resource_kind: Mapped[str] = mapped_column(String(16))
    resource_id: Mapped[str] = mapped_column(String(36))
    rate_per_hour: Mapped[Decimal] = mapped_column(Money())
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    charged: Mapped[Decimal] = mapped_column(Money())
    charged_until: Mapped[datetime] = mapped_column(UTCDateTime())
    # A rate that ends by itself (a long-term contract's end) and what follows it.
    rate_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_rate: Mapped[Decimal | None] = mapped_column(Money())


class LedgerEntry(Base):
    """One charge: what a resource cost over one period."""

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_project", "project_id", "period_end"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    meter_id: Mapped[str] = mapped_column(ForeignKey("meters.id", ondelete="CASCADE"))
    resource_kind: Mapped[str] = mapped_column(String(16))
    resource_id: Mapped[str] = mapped_column(String(36))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    period_end: Mapped[datetime] = mapped_column(UTCDateTime())
    amount: Mapped[Decimal] = mapped_column(Money())

    # Lets the unit of work insert a new meter before the charges it made.
    meter: Mapped[Meter] = relationship()


class Funding(Base):
    """Money put into a project: its opening amount, top-ups, corrections."""

    __tablename__ = "fundings"
    __table_args__ = (Index("ix_fundings_project", "project_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # opening | top_up | adjustment
    amount: Mapped[Decimal] = mapped_column(Money())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
