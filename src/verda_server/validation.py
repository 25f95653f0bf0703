"""Input checks shared by several resources.

Request models declare these as JSON Schema constraints (the served document
shows them) and the checks are built from the same definitions, so the two
cannot disagree. Patterns use only syntax that ECMA-262, Rust's regex and
Python's `re` read alike: explicit classes, never `\\s`, `\\w` or `.`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, GetJsonSchemaHandler, StringConstraints
from pydantic.json_schema import JsonSchemaValue

from verda_server.api.errors import invalid

MAX_NAME_LENGTH = 255

# Unicode White_Space: what `\s` means in Rust and ECMA alike, and what names
# and scripts are stripped of.
WHITESPACE = (
    "\t\n\v\f\r \x85\xa0\u1680"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
    + "\u2028\u2029\u202f\u205f\u3000"
)


def char_class(chars: str) -> str:
    """`chars` as the inside of a regex class, each as a \\uXXXX escape."""
    return "".join(f"\\u{ord(c):04x}" for c in chars)


BLANK = f"^[{char_class(WHITESPACE)}]*$"


def is_blank(text: str) -> bool:
    return not text.strip(WHITESPACE)


def _not_blank(text: str) -> str:
    if is_blank(text):
        raise ValueError("must not be empty")
    return text


# Compared by identity, which keeps it hashable as type metadata must be.
@dataclass(frozen=True, eq=False)
class SchemaExtra:
    """JSON Schema keywords a type adds to its document schema."""

    keywords: dict[str, Any]

    def __get_pydantic_json_schema__(
        self, core_schema: Any, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {**handler(core_schema), **self.keywords}


# Text with something in it besides whitespace. Said as `not` a blank pattern:
# that is also what lets generators (schemathesis) produce such text quickly.
NotBlank = Annotated[str, AfterValidator(_not_blank), SchemaExtra({"not": {"pattern": BLANK}})]
Name = Annotated[NotBlank, StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH)]


def clean_name(name: str, field: str = "name") -> str:
    cleaned = name.strip(WHITESPACE)
    if not cleaned:
        raise invalid(f"{field}: must not be empty")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise invalid(f"{field}: at most {MAX_NAME_LENGTH} characters")
    return cleaned
