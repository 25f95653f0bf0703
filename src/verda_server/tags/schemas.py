from __future__ import annotations

from typing import Annotated

from annotated_types import MaxLen
from pydantic import AfterValidator, BaseModel, Field

from verda_server.api.request import RequestModel
from verda_server.validation import SchemaExtra

MAX_TAGS = 10
MAX_KEY = 63
MAX_VALUE = 127


class TagDto(BaseModel):
    id: str = Field(description="Tag ID, the same on every resource of the project with this pair")
    key: str = Field(description="Tag key, lowercased")
    value: str = Field(description='Tag value, "" for a tag without one')


class CreateTagDto(RequestModel):
    key: str = Field(min_length=1, max_length=MAX_KEY, description="Tag key (stored lowercased)")
    value: str = Field(default="", max_length=MAX_VALUE, description='Tag value; "" when absent')


def _distinct_keys(tags: list[CreateTagDto]) -> list[CreateTagDto]:
    seen: set[str] = set()
    for tag in tags:
        key = tag.key.lower()
        if key in seen:
            raise ValueError(f"duplicate tag key {key!r}")
        seen.add(key)
    return tags


# Tags given when a resource is created. Keys are compared lowercased, which a
# schema can't say; `uniqueItems` states the part it can.
CreationTags = Annotated[
    list[CreateTagDto],
    MaxLen(MAX_TAGS),
    AfterValidator(_distinct_keys),
    SchemaExtra(
        {
            "uniqueItems": True,
            "description": f"At most {MAX_TAGS} tags, each key once (keys compare lowercased)",
        }
    ),
]
