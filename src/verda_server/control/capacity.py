"""The capacity overrides as the store keeps them, so every replica (and a
restart) offers and refuses the same."""

from __future__ import annotations

from typing import Any

from verda_server.availability import capacity
from verda_server.catalog.service import Catalog
from verda_server.control.shared import SharedState, read_value, write_value

NAME = "capacity"


def follow(shared: SharedState, catalog: Catalog) -> None:
    """Keep the catalog's capacity at the stored overrides: now and whenever an
    operator changes them."""

    def apply(value: Any) -> None:
        capacity.apply(catalog, capacity.known(catalog, value))

    shared.on(NAME, apply)


def update(shared: SharedState, catalog: Catalog, patch: capacity.Overrides) -> None:
    """Merge `patch` into the stored overrides in one write: two operators
    changing different types at once both count."""
    with shared.db.write() as session:
        stored = capacity.known(catalog, read_value(session, NAME))
        merged = capacity.merge(catalog, stored, patch)
        generation = write_value(session, NAME, merged)
    capacity.apply(catalog, merged)
    shared.written(generation)


def reset(shared: SharedState) -> None:
    """Back to the catalog's capacity everywhere."""
    shared.put(NAME, {})
