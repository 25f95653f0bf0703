"""The rate limits in the served OpenAPI document: the two headers on every
response after authentication, and the 429, on every authenticated operation
and on the token operation (limited per client id)."""

from __future__ import annotations

from typing import Any

from verda_server.ratelimits.config import WINDOW_SECONDS

TOKEN_PATH = "/v1/oauth2/token"
_W = WINDOW_SECONDS
HEADERS: dict[str, Any] = {
    "RateLimit-Policy": {
        "description": (
            "The limits enforced on this request: per project (per client id on "
            f"{TOKEN_PATH}) and per project + method + path, each per {_W}-second window. "
            "Sent on every response once the request is authenticated, unless rate "
            "limits are off for the project or the server."
        ),
        "schema": {
            "type": "string",
            "pattern": f'^"project";q=[1-9][0-9]*;w={_W}, "endpoint";q=[1-9][0-9]*;w={_W}$',
        },
        "example": f'"project";q=500;w={_W}, "endpoint";q=60;w={_W}',
    },
    "RateLimit": {
        "description": (
            "Requests left in each window after this one (r) and whole seconds until "
            "that window resets (t)."
        ),
        "schema": {
            "type": "string",
            "pattern": '^"project";r=[0-9]+;t=[1-9][0-9]*, "endpoint";r=[0-9]+;t=[1-9][0-9]*$',
        },
        "example": '"project";r=486;t=37, "endpoint";r=48;t=37',
    },
    "Retry-After": {
        "description": "Seconds until the exceeded window resets and requests are allowed again",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    },
}
_REF = "#/components/headers/"
_STATE = {name: {"$ref": _REF + name} for name in ("RateLimit-Policy", "RateLimit")}
_TOO_MANY = {
    "description": (
        "Too many requests: the project's or the endpoint's limit for the current "
        f"{_W}-second window is exceeded (rate_limit_exceeded)"
    ),
    "headers": {"Retry-After": {"$ref": _REF + "Retry-After"}, **_STATE},
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/PublicApiErrorResponseDto"}}
    },
}


def _limited(op: dict[str, Any], unlimited: tuple[str, ...]) -> None:
    responses: dict[str, Any] = op["responses"]
    for status, response in responses.items():
        if status not in unlimited:
            response.setdefault("headers", {}).update(_STATE)
    responses["429"] = _TOO_MANY


def complete_rate_limits(document: dict[str, Any]) -> None:
    document.setdefault("components", {})["headers"] = HEADERS
    for path, item in document["paths"].items():
        for method, op in item.items():
            if (path, method) == (TOKEN_PATH, "post"):
                # Counted before the secret's check: its 401 is counted too.
                _limited(op, ())
            elif op.get("security"):
                # A 401 is an authentication that failed: nothing was counted.
                _limited(op, ("401",))
