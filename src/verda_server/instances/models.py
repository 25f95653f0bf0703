from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from verda_server.storage.base import Base, UTCDateTime
from verda_server.storage.ip import ip_number
from verda_server.storage.money import Money


class Instance(Base):
    __tablename__ = "instances"
    # One public address per live instance per location; NULLs (no address) never clash.
    __table_args__ = (
        UniqueConstraint("location", "ip", name="uq_instances_location_ip"),
        # A project's live instances in list order, off the index (migration 0014).
        Index("ix_instances_project_list", "project_id", "deleted_at", "created_at", "id"),
        # Evictions due: live instances by eviction time (migration 0014).
        Index("ix_instances_live_evictions", "deleted_at", "evict_at"),
        # The pool's used addresses in order, for the lowest free one (migration 0018).
        Index("ix_instances_location_ip_number", "location", "ip_number", unique=True),
        # The units one (location, type, spot) holds, counted off the index (0018).
        Index(
            "ix_instances_capacity", "location", "instance_type", "is_spot", "deleted_at", "status"
        ),
        # Whether anything of a project is due, by seeking (migration 0020).
        Index("ix_instances_project_due", "project_id", "due_at"),
    )

    # Its rows are part of the instance's answer (storage/generation.py).
    __answer_of__: ClassVar = ("instance", "id")

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    instance_type: Mapped[str] = mapped_column(String(64))
    location: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32), index=True)
    hostname: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(String(1024))
    image: Mapped[str] = mapped_column(String(128))
    os_name: Mapped[str] = mapped_column(String(128))
    ip: Mapped[str | None] = mapped_column(String(45))
    # `ip` as an integer (storage/ip.py), set with it.
    ip_number: Mapped[int | None] = mapped_column(BigInteger())
    jupyter_token: Mapped[str] = mapped_column(String(64))
    is_spot: Mapped[bool]
    contract: Mapped[str] = mapped_column(String(32))
    pricing: Mapped[str] = mapped_column(String(32))
    # What it costs now: the catalog price, less a coupon and a long-term discount.
    price_per_hour: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))
    coupon: Mapped[str | None] = mapped_column(String(128))
    # A long-term contract: its period (catalog code), discount, end, and the
    # pay-as-you-go price the instance goes on at once it has ended.
    long_term_period: Mapped[str | None] = mapped_column(String(32))
    discount_percentage: Mapped[int | None]
    contract_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    payg_price: Mapped[Decimal | None] = mapped_column(Money())
    startup_script_id: Mapped[str | None] = mapped_column(
        ForeignKey("startup_scripts.id", ondelete="SET NULL")
    )
    os_volume_id: Mapped[str | None] = mapped_column(ForeignKey("volumes.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Deleted instances are kept (for billing and audit) but leave every answer.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the current transitional status (provisioning) is due to end.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # Its last status change cut the power (force_shutdown) rather than asked
    # the machine to shut down: a real machine (machines/) is killed.
    powered_off: Mapped[bool | None]
    # When a live spot instance is to be evicted; None: never (or not spot, or gone).
    evict_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)

    ssh_keys: Mapped[list[InstanceSshKey]] = relationship(
        cascade="all, delete-orphan", order_by="InstanceSshKey.position"
    )

    @validates("ip")
    def _keep_ip_number(self, _key: str, ip: str | None) -> str | None:
        self.ip_number = ip_number(ip)
        return ip


class InstanceSshKey(Base):
    """Keys an instance was deployed with; deleting the key drops it from the list."""

    __tablename__ = "instance_ssh_keys"
    __answer_of__: ClassVar = ("instance", "instance_id")

    instance_id: Mapped[str] = mapped_column(
        ForeignKey("instances.id", ondelete="CASCADE"), primary_key=True
    )
    ssh_key_id: Mapped[str] = mapped_column(
        ForeignKey("ssh_keys.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(default=0)
