"""Input checks shared by several resources."""

from __future__ import annotations

from verda_server.api.errors import invalid

MAX_NAME_LENGTH = 255


def clean_name(name: str, field: str = "name") -> str:
    cleaned = name.strip()
    if not cleaned:
        raise invalid(f"{field}: must not be empty")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise invalid(f"{field}: at most {MAX_NAME_LENGTH} characters")
    return cleaned
