"""Bodies are checked once, before any handler sees them.

JSON and form bodies must be well-formed, at most MAX_BODY_BYTES, and free of
text that no store can hold (NUL characters, lone UTF-16 surrogates). Doing it
here, at the edge, keeps every endpoint and both storage backends safe from the
same inputs, instead of each field of each DTO checking for itself.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from verda_server.api.errors import error_response
from verda_server.control.access import admin_authorized

MAX_BODY_BYTES = 1024 * 1024
# Where a checked JSON body is left, parsed (its content type, the value), for
# a handler before the routes that would otherwise parse it again.
PARSED_BODY = "verda.parsed_body"
# A snapshot import carries a whole store: it may be larger, but only for the
# admin token, so an anonymous client still meets the ordinary limit.
LARGE_BODIES = {"/_admin/v1/snapshot": 512 * 1024 * 1024}
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class BadBody(ValueError):
    pass


def unstorable(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _walk(value: Any, path: str) -> None:
    if isinstance(value, str):
        if unstorable(value):
            raise BadBody(f"{path or 'body'}: contains a NUL character or invalid unicode")
    elif isinstance(value, dict):
        for key, item in value.items():
            _walk(key, path)
            _walk(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk(item, f"{path}.{index}" if path else str(index))


def check_body(content_type: str, body: bytes) -> Any:
    """The parsed body, once it passed every check (None for an empty body)."""
    if not body.strip():
        return None
    if content_type == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadBody("Malformed form body") from exc
        for key, value in pairs:
            _walk(value, key)
        return dict(pairs)
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise BadBody("Malformed JSON in request body") from exc
    try:
        _walk(data, "")
    except RecursionError as exc:
        raise BadBody("Request body nests too deeply") from exc
    return data


def _is_checked(content_type: str) -> bool:
    return content_type in ("application/json", "application/x-www-form-urlencoded") or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


def _limit(scope: Scope) -> int:
    large = LARGE_BODIES.get(scope["path"])
    if large is None:
        return MAX_BODY_BYTES
    authorization = dict(scope.get("headers", [])).get(b"authorization", b"")
    context = scope["app"].state.context
    return large if admin_authorized(context, authorization.decode("latin-1")) else MAX_BODY_BYTES


class BodyGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        limit = _limit(scope)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                response = error_response(
                    "invalid_request", f"Request body too large (at most {limit} bytes)"
                )
                await response(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        headers = dict(scope.get("headers", []))
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        content_type = content_type.split(";")[0].strip().lower()
        if _is_checked(content_type):
            try:
                scope[PARSED_BODY] = (content_type, check_body(content_type, body))
            except BadBody as exc:
                await error_response("invalid_request", str(exc))(scope, receive, send)
                return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
