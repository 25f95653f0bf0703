from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from verda_server.storage.base import Base, UTCDateTime
from verda_server.storage.ip import ip_number
from verda_server.storage.money import Money


class Cluster(Base):
    __tablename__ = "clusters"
    # One jump-host address per live cluster per location; NULLs never clash.
    __table_args__ = (
        UniqueConstraint("location", "ip", name="uq_clusters_location_ip"),
        # The pool's used addresses in order, for the lowest free one (migration 0018).
        Index("ix_clusters_location_ip_number", "location", "ip_number", unique=True),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    cluster_type: Mapped[str] = mapped_column(String(64))
    location: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32), index=True)
    hostname: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(String(1024))
    image: Mapped[str] = mapped_column(String(128))
    os_name: Mapped[str] = mapped_column(String(128))
    # The jump host's public address, from the location's pool shared with instances.
    ip: Mapped[str | None] = mapped_column(String(45))
    # `ip` as an integer (storage/ip.py), set with it.
    ip_number: Mapped[int | None] = mapped_column(BigInteger())
    contract: Mapped[str] = mapped_column(String(32))
    extension_settings: Mapped[str | None] = mapped_column(String(32))
    auto_rental_extension: Mapped[bool | None]
    turn_to_pay_as_you_go: Mapped[bool | None]
    price_per_hour: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))
    startup_script_id: Mapped[str | None] = mapped_column(
        ForeignKey("startup_scripts.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Discontinued clusters are kept (billing, reads by id) but leave the list.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # When the current transitional status (provisioning) is due to end.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)

    ssh_keys: Mapped[list[ClusterSshKey]] = relationship(
        cascade="all, delete-orphan", order_by="ClusterSshKey.position"
    )

    @validates("ip")
    def _keep_ip_number(self, _key: str, ip: str | None) -> str | None:
        self.ip_number = ip_number(ip)
        return ip


class ClusterSshKey(Base):
    """Keys a cluster was deployed with; deleting the key drops it from the list."""

    __tablename__ = "cluster_ssh_keys"

    cluster_id: Mapped[str] = mapped_column(
        ForeignKey("clusters.id", ondelete="CASCADE"), primary_key=True
    )
    ssh_key_id: Mapped[str] = mapped_column(
        ForeignKey("ssh_keys.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(default=0)


class ClusterVolume(Base):
    """A shared volume attached to a cluster, mounted on every node. A volume is on
    one cluster at most; the row goes when the cluster releases it."""

    __tablename__ = "cluster_volumes"

    volume_id: Mapped[str] = mapped_column(
        ForeignKey("volumes.id", ondelete="CASCADE"), primary_key=True
    )
    cluster_id: Mapped[str] = mapped_column(
        ForeignKey("clusters.id", ondelete="CASCADE"), index=True
    )
    mount_point: Mapped[str] = mapped_column(String(255))
    # The /home volume is first (0), existing volumes follow in the order given.
    position: Mapped[int]
