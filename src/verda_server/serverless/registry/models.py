from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from verda_server.storage.base import Base, UTCDateTime


class RegistryCredential(Base):
    __tablename__ = "registry_credentials"
    __table_args__ = (
        UniqueConstraint("project_id", "name", name="uq_registry_credentials_project_id_name"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    # dockerhub, ghcr, gcr, aws-ecr, custom, scaleway or verda.
    registry_type: Mapped[str] = mapped_column(String(16))
    # The type's fields as a JSON object of strings; write-only, never answered.
    fields: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
