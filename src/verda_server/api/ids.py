from __future__ import annotations

from typing import Annotated, Any

from annotated_types import MaxLen, MinLen
from fastapi import Path
from pydantic import BeforeValidator, Field, WithJsonSchema

# More ids than any project has, and few enough for one SQL IN (...).
MAX_IDS = 1000
MAX_SIZE_GB = 100_000

# Ids are UUIDs. One that is not a UUID can't exist, so it answers 404 like any
# unknown id rather than 400: the document says `format: uuid` and the
# validation stays the lookup's.
UUID_SCHEMA: dict[str, Any] = {"type": "string", "format": "uuid"}


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


def _id_or_ids(min_items: int) -> Any:
    """Fields documented as "a single UUID or an array of UUIDs"."""
    return Annotated[
        list[str],
        BeforeValidator(_as_list),
        MinLen(min_items),
        MaxLen(MAX_IDS),
        WithJsonSchema(
            {
                "oneOf": [
                    UUID_SCHEMA,
                    {
                        "type": "array",
                        "items": UUID_SCHEMA,
                        "minItems": min_items,
                        "maxItems": MAX_IDS,
                    },
                ]
            }
        ),
    ]


IdOrIds = _id_or_ids(0)
# Bulk calls that need at least one id (an empty list is a 400).
SomeIds = _id_or_ids(1)

Id = Annotated[str, WithJsonSchema(UUID_SCHEMA)]
IdList = Annotated[list[Id], MaxLen(MAX_IDS)]

# A resource id in a path.
PathId = Annotated[str, Path(json_schema_extra={"format": "uuid"})]


def _json_integer(value: object) -> object:
    # JSON true is not a size of 1 GB, nor is "1" (pydantic would take both).
    if isinstance(value, (bool, str)):
        raise ValueError("must be a number")
    return value


SizeGb = Annotated[int, Field(ge=1, le=MAX_SIZE_GB), BeforeValidator(_json_integer)]
