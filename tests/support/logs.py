"""Log lines of an in-process server, as the server formats them, waited for by request id.

The server writes a request's line after its last byte went out, so a test
waits for the line (never sleeps); once it is there, the request's metrics and
journal entry are recorded too.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from verda_server.observability.logs import JsonFormatter


class CapturedLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []
        self._changed = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        line = self.format(record)
        with self._changed:
            self.lines.append(line)
            self._changed.notify_all()

    @property
    def records(self) -> list[dict[str, Any]]:
        with self._changed:
            return [json.loads(line) for line in self.lines]

    def access(self, request_id: str, timeout: float = 10) -> dict[str, Any]:
        """The request's access line, once written."""

        def found() -> dict[str, Any] | None:
            for line in self.lines:
                record = json.loads(line)
                if (
                    record["logger"] == "verda_server.access"
                    and record.get("request_id") == request_id
                ):
                    return dict(record)
            return None

        with self._changed:
            assert self._changed.wait_for(lambda: found() is not None, timeout), request_id
            line = found()
        assert line is not None
        return line


@contextmanager
def captured(name: str = "verda_server", level: int = logging.INFO) -> Iterator[CapturedLog]:
    logger = logging.getLogger(name)
    handler = CapturedLog()
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
