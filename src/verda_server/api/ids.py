from __future__ import annotations

from typing import Annotated

from annotated_types import MaxLen
from pydantic import BeforeValidator, WithJsonSchema

# More ids than any project has, and few enough for one SQL IN (...).
MAX_IDS = 1000


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


# Fields documented as "a single UUID or an array of UUIDs".
IdOrIds = Annotated[
    list[str],
    BeforeValidator(_as_list),
    MaxLen(MAX_IDS),
    WithJsonSchema(
        {
            "oneOf": [
                {"type": "string", "format": "uuid"},
                {
                    "type": "array",
                    "items": {"type": "string", "format": "uuid"},
                    "maxItems": MAX_IDS,
                },
            ]
        }
    ),
]

IdList = Annotated[list[str], MaxLen(MAX_IDS)]


def _not_bool(value: object) -> object:
    # JSON true is not a size of 1 GB.
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    return value


SizeGb = Annotated[int, BeforeValidator(_not_bool)]
