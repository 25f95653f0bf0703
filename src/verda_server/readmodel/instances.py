"""A project's instance answers kept one by one: `GET /v1/instances` and
`GET /v1/instances/{id}`, the reads pollers repeat most.

A write names the instances whose answers it changed (storage/changes.py), so
only those are rendered again; the list is the live ones' bytes joined in
their order, as the full render would write it. Used from the event loop only.
"""

from __future__ import annotations

from collections.abc import Iterable

from verda_server.instances.render import Record

FAMILY = "instance"


class InstanceView:
    __slots__ = ("_list", "complete", "marks", "records", "size", "stale")

    def __init__(self) -> None:
        self.records: dict[str, Record] = {}
        # Whether `records` holds every live instance of the project.
        self.complete = False
        # Ids whose answers a write changed since they were rendered.
        self.stale: set[str] = set()
        # Moves on with every mark: a render begun before a mark is not kept.
        self.marks = 0
        self.size = 0
        self._list: bytes | None = None

    def mark(self, ids: Iterable[str]) -> None:
        self.stale.update(ids)
        self.marks += 1

    def wants(self, instance_id: str | None) -> list[str] | None:
        """The ids to render before answering the list (`instance_id` None) or
        an item: None for every live instance, [] for none."""
        if instance_id is None:
            return None if not self.complete else sorted(self.stale)
        if instance_id in self.records and instance_id not in self.stale:
            return []
        return sorted({instance_id, *self.stale})

    def put(self, asked: list[str] | None, found: list[Record], marks: int) -> None:
        """Rendered `found` for `asked` (None: every live instance) while the
        view was at `marks`; ids asked and not found are gone."""
        if marks != self.marks:
            return  # a write changed some of them meanwhile: rendered again next time
        if asked is None:
            self.records = {}
            self.complete = True
            self.stale.clear()
        for instance_id in asked or ():
            self.records.pop(instance_id, None)
            self.stale.discard(instance_id)
        for record in found:
            self.records[record.order[1]] = record
        self._list = None
        self.size = sum(len(r.body) for r in self.records.values())

    def item(self, instance_id: str) -> bytes | None:
        if instance_id in self.stale:
            return None
        record = self.records.get(instance_id)
        return None if record is None else record.body

    def list_body(self) -> bytes | None:
        if not self.complete or self.stale:
            return None
        if self._list is None:
            live = sorted((r for r in self.records.values() if not r.removed), key=_order)
            self._list = b"[" + b",".join(r.body for r in live) + b"]"
        return self._list


def _order(record: Record) -> tuple[object, str]:
    return record.order
