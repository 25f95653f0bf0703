"""Tags on a project's resources: add, remove, list and filter by them.

A tag is a project's key/value pair; resources link to it. Writes are
serialised (`context.work`), so the one-key-per-resource and at-most-ten rules
are checked here rather than by constraints.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, delete, exists, false, select
from sqlalchemy.orm import QueryableAttribute, Session

from verda_server.api.errors import ApiError, forbidden, not_found
from verda_server.storage.owned import canonical_id
from verda_server.tags.models import Tag, TagLink
from verda_server.tags.schemas import MAX_TAGS, CreateTagDto, TagDto

Kind = Literal["instance", "volume", "cluster"]
TAG_NOT_FOUND = "Tag not found"


def _dto(tag: Tag) -> TagDto:
    return TagDto(id=tag.id, key=tag.key, value=tag.value)


def _project_tag(session: Session, project_id: str, key: str, value: str) -> Tag:
    """The project's tag for this pair, made on first use."""
    found = session.scalars(
        select(Tag).where(Tag.project_id == project_id, Tag.key == key, Tag.value == value)
    ).first()
    if found is None:
        found = Tag(id=str(uuid.uuid4()), project_id=project_id, key=key, value=value)
        session.add(found)
        session.flush()
    return found


def _linked(session: Session, kind: Kind, resource_id: str) -> list[tuple[TagLink, Tag]]:
    rows = session.execute(
        select(TagLink, Tag)
        .join(Tag, Tag.id == TagLink.tag_id)
        .where(TagLink.kind == kind, TagLink.resource_id == resource_id)
        .order_by(TagLink.position)
    )
    return [(link, tag) for link, tag in rows]


def add_tag(
    session: Session, project_id: str, kind: Kind, resource_id: str, key: str, value: str
) -> TagDto:
    """Link key=value to the resource: 409 when it has that key, 403 past ten tags."""
    key = key.lower()
    linked = _linked(session, kind, resource_id)
    if any(tag.key == key for _, tag in linked):
        raise ApiError("conflict", f"Tag key {key!r} is already on this {kind}")
    if len(linked) >= MAX_TAGS:
        raise forbidden(f"A {kind} can have at most {MAX_TAGS} tags")
    tag = _project_tag(session, project_id, key, value)
    position = max((link.position for link, _ in linked), default=-1) + 1
    session.add(TagLink(kind=kind, resource_id=resource_id, tag_id=tag.id, position=position))
    session.flush()
    return _dto(tag)


def apply_creation_tags(
    session: Session,
    project_id: str,
    kind: Kind,
    resource_id: str,
    tags: Sequence[CreateTagDto] | None,
) -> None:
    """Tags given in a create body (already checked: at most ten, distinct keys)."""
    for tag in tags or ():
        add_tag(session, project_id, kind, resource_id, tag.key, tag.value)


def remove_tag(session: Session, kind: Kind, resource_id: str, key_or_id: str) -> None:
    """Unlink the tag with this key (compared lowercased) or this tag id; 404 if none."""
    key = key_or_id.lower()
    tag_id = canonical_id(key_or_id)
    linked = _linked(session, kind, resource_id)
    match = next((link for link, tag in linked if tag.key == key), None) or next(
        (link for link, tag in linked if tag.id == tag_id), None
    )
    if match is None:
        raise not_found(TAG_NOT_FOUND)
    tag_id = match.tag_id
    session.delete(match)
    session.flush()
    _drop_orphans(session, [tag_id])


def drop_links(session: Session, kind: Kind, resource_ids: Iterable[str]) -> None:
    """A resource is gone: so are its tags (and project tags nothing uses any more)."""
    ids = list(resource_ids)
    if not ids:
        return
    tag_ids = list(
        session.scalars(
            select(TagLink.tag_id).where(TagLink.kind == kind, TagLink.resource_id.in_(ids))
        )
    )
    if not tag_ids:
        return
    session.execute(delete(TagLink).where(TagLink.kind == kind, TagLink.resource_id.in_(ids)))
    _drop_orphans(session, tag_ids)


def _drop_orphans(session: Session, tag_ids: Sequence[str]) -> None:
    used = exists().where(TagLink.tag_id == Tag.id)
    session.execute(
        delete(Tag)
        .where(Tag.id.in_(list(dict.fromkeys(tag_ids))), ~used)
        .execution_options(synchronize_session=False)
    )


def tags_by_resource(
    session: Session, kind: Kind, resource_ids: Iterable[str]
) -> dict[str, list[TagDto]]:
    """Every resource's tags, in the order they were added, in one query;
    `[]` for a resource without any."""
    ids = list(dict.fromkeys(resource_ids))
    result: dict[str, list[TagDto]] = {i: [] for i in ids}
    if not ids:
        return result
    for resource_id, tag_id, key, value in session.execute(tags_statement(kind, ids)):
        result[resource_id].append(TagDto(id=tag_id, key=key, value=value))
    return result


def tags_statement(kind: Kind, resources: Select[tuple[str]] | Sequence[str]) -> Select[Any]:
    """The tags of the resources `resources` names (their ids, or a select of
    them), in the order they were added: one statement whatever their number."""
    return (
        select(TagLink.resource_id, Tag.id, Tag.key, Tag.value)
        .join(Tag, Tag.id == TagLink.tag_id)
        .where(TagLink.kind == kind, TagLink.resource_id.in_(resources))
        .order_by(TagLink.resource_id, TagLink.position)
    )


def tags_by_owner(rows: Iterable[Any]) -> dict[str, list[dict[str, str]]]:
    """The rows of `tags_statement` as answers (TagDto's fields, in its order)
    by resource; a resource without tags is absent."""
    found: dict[str, list[dict[str, str]]] = defaultdict(list)
    for resource_id, tag_id, key, value in rows:
        found[resource_id].append({"id": tag_id, "key": key, "value": value})
    return found


def parse_filter(text: str) -> tuple[str, str | None]:
    """`key` (any value) or `key=value`, split at the first `=`; keys lowercased."""
    key, sep, value = text.partition("=")
    return key.lower(), value if sep else None


def tag_filter(
    kind: Kind,
    resource_id: QueryableAttribute[str] | ColumnElement[str],
    filters: Sequence[str] | None,
    project_id: str,
) -> list[ColumnElement[bool]]:
    """Conditions for a list query: the resource carries every tag asked for.
    The project's tags are found first (by their unique index), then their links
    (by tag and kind): never the links of every project."""
    conditions: list[ColumnElement[bool]] = []
    for text in filters or ():
        key, value = parse_filter(text)
        if "\x00" in text:
            # No store holds NUL, so no tag can match it (and PostgreSQL refuses it).
            conditions.append(false())
            continue
        tags = select(Tag.id).where(Tag.project_id == project_id, Tag.key == key)
        if value is not None:
            tags = tags.where(Tag.value == value)
        links = select(TagLink.resource_id).where(TagLink.tag_id.in_(tags), TagLink.kind == kind)
        conditions.append(resource_id.in_(links))
    return conditions
