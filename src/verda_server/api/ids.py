from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, WithJsonSchema


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


# Fields documented as "a single UUID or an array of UUIDs".
IdOrIds = Annotated[
    list[str],
    BeforeValidator(_as_list),
    WithJsonSchema(
        {
            "oneOf": [
                {"type": "string", "format": "uuid"},
                {"type": "array", "items": {"type": "string", "format": "uuid"}},
            ]
        }
    ),
]
