from __future__ import annotations

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from verda_server.storage.base import Base


class ControlState(Base):
    """Operator-set state that every replica must see (the clock, the admin
    token, profiles, faults, capacity): one JSON value per name.

    `generation` grows by one with each change across all names, so a replica
    learns whether anything changed since it last looked from one indexed read.
    """

    __tablename__ = "control_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    generation: Mapped[int] = mapped_column(index=True)
