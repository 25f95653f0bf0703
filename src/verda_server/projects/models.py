from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from verda_server.storage.base import Base, UTCDateTime


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    balance: Mapped[Decimal] = mapped_column(Numeric(18, 6))
    currency: Mapped[str] = mapped_column(String(3))
    is_default: Mapped[bool] = mapped_column(default=False)
    startup_script_quota: Mapped[int] = mapped_column(default=100, server_default="100")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
