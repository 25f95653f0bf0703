from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter
from starlette.responses import PlainTextResponse, Response
from starlette.types import Message, Scope, Send

# Plain values (dicts, lists, strings, numbers) written as pydantic writes a
# response model's fields: the same bytes FastAPI sends for the model.
_PLAIN: TypeAdapter[Any] = TypeAdapter(Any)


def to_json(value: Any) -> bytes:
    return _PLAIN.dump_json(value)


def json_bytes(body: bytes, status_code: int = 200) -> Response:
    """Send JSON that was serialised ahead of time (catalog lists)."""
    return Response(content=body, status_code=status_code, media_type="application/json")


async def send_response(response: Response, scope: Scope, send: Send) -> None:
    """Send a whole response from a layer before the routes (the request's
    body, if any, was read before)."""

    async def nothing() -> Message:
        return {"type": "http.disconnect"}

    await response(scope, nothing, send)


def created_id(resource_id: str, status_code: int = 201) -> PlainTextResponse:
    """Create calls answer the bare id as plain text: the SDKs paste it into URLs."""
    return PlainTextResponse(resource_id, status_code=status_code)


def bare_id_response(description: str, status_code: int) -> dict[int | str, dict[str, Any]]:
    return {
        status_code: {
            "description": description,
            "content": {"text/plain": {"schema": {"type": "string", "format": "uuid"}}},
        }
    }


EMPTY_OK: dict[int | str, dict[str, Any]] = {200: {"description": "Done; empty body"}}

# A create that has nothing to say: `{}` rather than no body, since a 201 owes one.
EMPTY_OBJECT = b"{}"
CREATED_EMPTY: dict[int | str, dict[str, Any]] = {
    201: {
        "description": "Created; an empty JSON object",
        "content": {"application/json": {"schema": {"type": "object", "maxProperties": 0}}},
    }
}


Responses = dict[int | str, dict[str, Any]]


def not_found_response(description: str) -> Responses:
    return {404: {"description": description}}
