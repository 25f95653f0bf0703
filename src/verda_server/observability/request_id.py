"""The request id: the client's when it is sane, else a new one; and who asked."""

from __future__ import annotations

import random
import re
from contextvars import ContextVar

from starlette.types import Scope

HEADER = "X-Request-Id"
_HEADER_KEY = b"x-request-id"
# A client id goes into log lines and response headers as it came: a bounded
# length and a charset with no space, quote or control character, so it can
# neither forge a log line nor bloat one.
MAX_LENGTH = 128
_SANE = re.compile(rb"[A-Za-z0-9._:+/=-]{1,%d}" % MAX_LENGTH)

# The id of the request being served, for every log record written while it is.
current: ContextVar[str | None] = ContextVar("verda_request_id", default=None)


def new_id() -> str:
    # An id names a request, it guards nothing: no need for the OS's entropy.
    return f"{random.getrandbits(128):032x}"


def incoming_or_new(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == _HEADER_KEY:
            if _SANE.fullmatch(value):
                return value.decode("ascii")
            break
    return new_id()


def request_id_of(scope: Scope) -> str | None:
    state = scope.get("state")
    return None if state is None else state.get("request_id")
