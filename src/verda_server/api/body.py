"""Request bodies that arrive as JSON or as an HTML form."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from verda_server.api.errors import invalid

FORM = "application/x-www-form-urlencoded"


async def json_or_form(request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == FORM:
        form = await request.form()
        return {key: value for key, value in form.items() if isinstance(value, str)}
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise invalid("Malformed JSON in request body") from exc
    if not isinstance(data, dict):
        raise invalid("Request body must be a JSON object")
    return data
