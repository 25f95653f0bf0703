from __future__ import annotations

from typing import ClassVar

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from verda_server.storage.base import Base


class Tag(Base):
    """A key/value pair of a project, shared by every resource that carries it
    ("a matching project tag is reused"): one id for the pair."""

    __tablename__ = "tags"
    __table_args__ = (
        UniqueConstraint("project_id", "key", "value", name="uq_tags_project_id_key_value"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    # Lowercased; wider than the 63 characters allowed as sent, since lowercasing
    # may lengthen a string (U+0130 becomes two code points).
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(127))


class TagLink(Base):
    """A tag on a resource. Resources of several kinds carry tags, so there is no
    foreign key to them: the services drop the links when a resource goes."""

    __tablename__ = "tag_links"
    # A link is part of its resource's answer (storage/generation.py).
    __answer_of__: ClassVar = staticmethod(lambda link: (link.kind, link.resource_id))
    # A tag filter goes from the project's tag to the resources of one kind.
    __table_args__ = (Index("ix_tag_links_tag_kind", "tag_id", "kind", "resource_id"),)

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    resource_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tag_id: Mapped[str] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
    # Tags list in the order they were added.
    position: Mapped[int]
