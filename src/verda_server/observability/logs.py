"""Log lines: one JSON object a line, or human-readable text on a terminal.

Request lines come from the access middleware with their fields in `record.access`;
every other record keeps its message. Each line carries the id of the request
being served when it was written, and its time by the server's clock.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TextIO

from verda_server.clock import Clock, isoformat
from verda_server.observability import request_id

ACCESS_LOGGER = "verda_server.access"


class LogFormat(StrEnum):
    json = "json"
    text = "text"
    auto = "auto"


def _time(record: logging.LogRecord, clock: Clock | None) -> str:
    access = getattr(record, "access", None)
    if access is not None:
        return str(access["time"])
    if clock is not None:
        return isoformat(clock.now())
    return isoformat(datetime.fromtimestamp(record.created, UTC))


class JsonFormatter(logging.Formatter):
    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__()
        self.clock = clock

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _time(record, self.clock),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        access = getattr(record, "access", None)
        if access is not None:
            line.update(access)
        else:
            line["message"] = record.getMessage()
            current = request_id.current.get()
            if current is not None:
                line["request_id"] = current
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__()
        self.clock = clock

    def format(self, record: logging.LogRecord) -> str:
        access = getattr(record, "access", None)
        head = f"{_time(record, self.clock)} {record.levelname:<7}"
        if access is not None:
            project = access.get("project_id") or "-"
            text = (
                f"{head} {access['method']} {access['route'] or '-'} "
                f"{access['status']} {access['duration_ms']:.1f} ms "
                f"project={project} id={access['request_id']}"
            )
        else:
            current = request_id.current.get()
            suffix = f" id={current}" if current is not None else ""
            text = f"{head} {record.name}: {record.getMessage()}{suffix}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def resolve(log_format: LogFormat, stream: TextIO) -> LogFormat:
    if log_format is not LogFormat.auto:
        return log_format
    isatty = getattr(stream, "isatty", None)
    return LogFormat.text if isatty is not None and isatty() else LogFormat.json


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """Ours, so that configuring again replaces it and nobody else's."""


def configure(log_format: LogFormat, level: str, stream: TextIO | None = None) -> LogFormat:
    """The process's log handler, on stderr; returns the format chosen."""
    stream = stream or sys.stderr
    chosen = resolve(log_format, stream)
    handler = _Handler(stream)
    handler.setFormatter(JsonFormatter() if chosen is LogFormat.json else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    return chosen


def follow(clock: Clock) -> None:
    """Time lines by the server's clock from now on (until then, the wall clock's)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, _Handler) and isinstance(
            handler.formatter, JsonFormatter | TextFormatter
        ):
            handler.formatter.clock = clock
