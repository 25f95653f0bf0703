from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from verda_server.storage.base import Base, UTCDateTime


class Volume(Base):
    __tablename__ = "volumes"
    # The active list and the trash of a project (migration 0014).
    __table_args__ = (
        Index("ix_volumes_project_status", "project_id", "status", "is_permanently_deleted"),
        # Whether anything of a project is due, by seeking (migration 0020).
        Index("ix_volumes_project_due", "project_id", "due_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int]
    type: Mapped[str] = mapped_column(String(32))
    location: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    is_os_volume: Mapped[bool] = mapped_column(default=False)
    # The OS image an OS volume was made from; such a volume can be an image itself.
    image_type: Mapped[str | None] = mapped_column(String(128))
    contract: Mapped[str] = mapped_column(String(32), default="PAY_AS_YOU_GO")
    pseudo_path: Mapped[str] = mapped_column(String(64), unique=True)
    # The volume this one was cloned from (kept as a plain id: the source may go).
    cloned_from: Mapped[str | None] = mapped_column(String(36))
    on_spot_discontinue: Mapped[str] = mapped_column(String(32), default="keep_detached")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    is_permanently_deleted: Mapped[bool] = mapped_column(default=False)
    # When a timed transition (clone done, trash expiry) falls due.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)

    attachments: Mapped[list[VolumeAttachment]] = relationship(
        back_populates="volume", cascade="all, delete-orphan", order_by="VolumeAttachment.position"
    )
    ssh_keys: Mapped[list[VolumeSshKey]] = relationship(
        cascade="all, delete-orphan", order_by="VolumeSshKey.position"
    )


class VolumeAttachment(Base):
    """A volume attached to an instance, at a device target (vda, vdb, …)."""

    __tablename__ = "volume_attachments"
    __table_args__ = (Index("ix_volume_attachments_instance_id", "instance_id"),)
    # Part of the instance's answer (its volume_ids; storage/generation.py).
    __answer_of__: ClassVar = ("instance", "instance_id")

    volume_id: Mapped[str] = mapped_column(
        ForeignKey("volumes.id", ondelete="CASCADE"), primary_key=True
    )
    instance_id: Mapped[str] = mapped_column(
        ForeignKey("instances.id", ondelete="CASCADE"), primary_key=True
    )
    target: Mapped[str] = mapped_column(String(16))
    position: Mapped[int]

    volume: Mapped[Volume] = relationship(back_populates="attachments")


class VolumeSshKey(Base):
    """The SSH keys an OS volume was made with; a deleted key drops out."""

    __tablename__ = "volume_ssh_keys"

    volume_id: Mapped[str] = mapped_column(
        ForeignKey("volumes.id", ondelete="CASCADE"), primary_key=True
    )
    ssh_key_id: Mapped[str] = mapped_column(
        ForeignKey("ssh_keys.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(default=0, server_default="0")
