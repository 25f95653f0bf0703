"""Request bodies that arrive as JSON or as an HTML form."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from verda_server.api.errors import invalid
from verda_server.api.guard import BadBody, check_body

FORM = "application/x-www-form-urlencoded"


async def json_or_form(request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == FORM:
        form = await request.form()
        return {key: value for key, value in form.items() if isinstance(value, str)}
    raw = await request.body()
    if not raw.strip():
        return {}
    # Whatever the declared type, a body read as JSON gets the JSON checks.
    try:
        data = check_body("application/json", raw)
    except BadBody as exc:
        raise invalid(str(exc)) from exc
    if not isinstance(data, dict):
        raise invalid("Request body must be a JSON object")
    return data
