"""The built-in responder: what a deployment's endpoint answers in place of a
container, the request itself, so that a client can see exactly what arrived."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from verda_server.clock import isoformat
from verda_server.serverless.endpoint.models import InferenceRequest

# Never stored nor echoed: they carry credentials or describe only the hop.
DROPPED_HEADERS = frozenset(
    {"authorization", "cookie", "proxy-authorization", "content-length", "connection"}
)


def kept_headers(raw: list[tuple[bytes, bytes]]) -> str:
    kept: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1").lower()
        if key not in DROPPED_HEADERS:
            kept[key] = value.decode("latin-1")
    return json.dumps(kept, sort_keys=True)


def answer(deployment_name: str, container: str, message: InferenceRequest) -> dict[str, Any]:
    body = message.body
    try:
        parsed: Any = json.loads(body) if body else None
        text: str | None = None
    except ValueError:
        parsed, text = None, body
    return {
        "id": message.id,
        "deployment": deployment_name,
        "container": container,
        "method": message.method,
        "path": message.path,
        "query": parse_qs(message.query, keep_blank_values=True),
        "headers": json.loads(message.headers),
        "json": parsed,
        "body": text,
        "received_at": isoformat(message.arrived_at),
        "started_at": isoformat(message.started_at) if message.started_at else None,
        "completed_at": isoformat(message.finished_at) if message.finished_at else None,
    }
