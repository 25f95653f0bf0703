"""Names of secrets, file secrets and registry credentials: they go into URL paths.

Python 1.24 and the Go SDK put these names into the path unescaped, so only
characters that need no escaping are allowed (BEYOND.md §0); `.` and `..` alone
are dot segments, which clients remove from a path before sending it.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from verda_server.api.patterns import explained
from verda_server.validation import MAX_NAME_LENGTH, SchemaExtra

NAME_PATTERN = explained(
    "^[A-Za-z0-9._~-]+$",
    "only letters A-Z and a-z, digits and . _ ~ - (the name goes into URL paths)",
)
_DOT_SEGMENTS = (".", "..")


def _not_dot_segment(name: str) -> str:
    if name in _DOT_SEGMENTS:
        raise ValueError("must not be . or .. (a URL path would lose it)")
    return name


PathName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH, pattern=NAME_PATTERN),
    AfterValidator(_not_dot_segment),
    SchemaExtra({"not": {"enum": list(_DOT_SEGMENTS)}}),
]
