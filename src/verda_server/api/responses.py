from __future__ import annotations

from starlette.responses import Response


def json_bytes(body: bytes, status_code: int = 200) -> Response:
    """Send JSON that was serialised ahead of time (catalog lists)."""
    return Response(content=body, status_code=status_code, media_type="application/json")
