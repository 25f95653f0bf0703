from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from verda_server.storage.base import Base, UTCDateTime

GENERIC = "generic"
FILE_SECRET = "file-secret"


class Secret(Base):
    """A generic secret or a file secret: one name space per project, since the live
    `/secrets` may list both kinds (each with its `secret_type`)."""

    __tablename__ = "secrets"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_secrets_project_id_name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    # GENERIC or FILE_SECRET: the API's `secret_type`.
    kind: Mapped[str] = mapped_column(String(16))
    # A generic secret's value; NULL for a file secret (its files hold the content).
    value: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    files: Mapped[list[SecretFile]] = relationship(
        cascade="all, delete-orphan", order_by="SecretFile.position"
    )


class SecretFile(Base):
    """One file of a file secret, its content as the base64 text it was sent in."""

    __tablename__ = "secret_files"

    secret_id: Mapped[str] = mapped_column(
        ForeignKey("secrets.id", ondelete="CASCADE"), primary_key=True
    )
    file_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    position: Mapped[int]
    base64_content: Mapped[str] = mapped_column(Text)
