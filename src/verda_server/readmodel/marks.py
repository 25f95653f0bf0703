"""Which reads the read model may remember.

A route qualifies when its 200 answer is a function of the requesting project's
rows, the packaged catalog and the request's path and query only: every change
of those rows moves the project's generation (storage/generation.py), and a
change by the clock alone happens at a due instant the read model knows. Reads
of what every project shares (capacity, availability) or of what accrues with
time (the balance) do not qualify.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
_MARK = "__verda_cached_read__"


def cached_read(endpoint: F) -> F:
    setattr(endpoint, _MARK, True)
    return endpoint


def is_cached_read(endpoint: Any) -> bool:
    return bool(getattr(endpoint, _MARK, False))
