"""Several servers on one store, reached through one client that takes turns."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.support.live import TLS, LiveServer, start_live_server
from verda_server.clock import Clock


class Alternating(httpx.BaseTransport):
    """Sends each request to the next replica in turn (a round-robin balancer)."""

    def __init__(self, replicas: Sequence[LiveServer]) -> None:
        self._urls = itertools.cycle([httpx.URL(replica.base_url) for replica in replicas])
        self._inner = httpx.HTTPTransport(verify=TLS)
        self.served_by: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        target = next(self._urls)
        request.url = request.url.copy_with(host=target.host, port=target.port)
        self.served_by.append(f"{target.host}:{target.port}")
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


@contextmanager
def replicas(database_url: str, count: int = 2, **settings: Any) -> Iterator[list[LiveServer]]:
    """`count` servers on one store, each with a clock of its own (as separate
    processes would have), all frozen at one instant: they agree on the time
    only through what the store shares."""
    start = datetime.fromtimestamp(int(datetime.now(UTC).timestamp()), UTC)
    with ExitStack() as stack:
        yield [
            stack.enter_context(start_live_server(database_url, Clock.frozen(start), **settings))
            for _ in range(count)
        ]
