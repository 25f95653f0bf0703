"""A server of a test module's own, on a store of its own: for tests that
change what every project of a server shares (profiles, capacity)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest

from tests.support.live import LiveServer, start_live_server
from verda_server.config import sqlite_url


@contextmanager
def own_store(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A new, empty store on the backend of `database_url`."""
    if database_url.startswith("sqlite"):
        yield sqlite_url(tmp_path_factory.mktemp("own"))
    else:
        from tests.conftest import postgres_database

        with postgres_database() as url:
            yield url


@contextmanager
def own_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, **overrides: object
) -> Iterator[LiveServer]:
    with ExitStack() as stack:
        url = stack.enter_context(own_store(database_url, tmp_path_factory))
        yield stack.enter_context(start_live_server(url, **overrides))
