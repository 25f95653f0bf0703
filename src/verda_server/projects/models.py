from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from verda_server.storage.base import Base, UTCDateTime
from verda_server.storage.money import Money


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    # What is left once every charge in the ledger is paid; what has accrued
    # since the last charge is computed on reading (billing/ledger.py).
    balance: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))
    is_default: Mapped[bool] = mapped_column(default=False)
    # Quotas (projects/quotas.py): the most of each kind the project may hold.
    startup_script_quota: Mapped[int] = mapped_column(default=100, server_default="100")
    instance_quota: Mapped[int] = mapped_column(default=50, server_default="50")
    volume_quota: Mapped[int] = mapped_column(default=100, server_default="100")
    cluster_quota: Mapped[int] = mapped_column(default=5, server_default="5")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The next instant billing must act: the money runs out, or a rate ends.
    billing_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # The project's own rate limits (ratelimits/config.py); None: the server's.
    rate_limits_enabled: Mapped[bool | None] = mapped_column()
    rate_limit_project: Mapped[int | None] = mapped_column()
    rate_limit_endpoint: Mapped[int | None] = mapped_column()
    # Moved on by every write transaction that changes what the project's reads
    # answer (storage/generation.py); the read model's validity check. The
    # store's bookkeeping, not state: snapshots leave it out.
    generation: Mapped[int] = mapped_column(
        BigInteger, default=0, server_default="0", info={"snapshot": False}
    )
    # The generation before the write that last moved it, set by that write's
    # update, which returns it (storage/changes.py follows writes by it).
    previous_generation: Mapped[int | None] = mapped_column(BigInteger, info={"snapshot": False})
