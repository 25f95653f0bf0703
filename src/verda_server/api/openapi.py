"""The served OpenAPI 3.1 document: FastAPI's, completed with the error model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from starlette.routing import BaseRoute

from verda_server import __version__
from verda_server.api.errors import PublicApiErrorResponseDto
from verda_server.api.fastapi_import import complete_deferred_models
from verda_server.api.request_schemas import complete_request_schemas
from verda_server.auth.schemas import GetAccessTokenDto, RefreshAccessTokenPublicApiDto
from verda_server.catalog.service import Catalog
from verda_server.instances.schemas import InstanceActionResultDto
from verda_server.ratelimits.openapi import complete_rate_limits

TITLE = "Verda Cloud Public API"
DESCRIPTION = (
    "Verda Cloud (formerly DataCrunch) Public API v1, as served by verda-server. "
    "Every error is a JSON `PublicApiErrorResponseDto`."
)
_ERROR_REF = {"$ref": "#/components/schemas/PublicApiErrorResponseDto"}
_ERROR_CONTENT = {"application/json": {"schema": _ERROR_REF}}
_DEFAULT_DESCRIPTIONS = {
    "400": "Invalid request",
    "401": "Unauthorized: the access token is missing, invalid or expired",
    "402": "Insufficient funds",
    "403": "Forbidden: insufficient scope",
    "404": "Not found",
    "409": "Conflict",
    "500": "Server error",
    "503": "Service unavailable",
}
# Models only referenced by hand-written request bodies.
_EXTRA_SCHEMAS: tuple[type[BaseModel], ...] = (
    GetAccessTokenDto,
    RefreshAccessTokenPublicApiDto,
    InstanceActionResultDto,
)


def add_error_response(
    responses: dict[str, Any], status: str, description: str | None = None
) -> None:
    if status not in responses:
        responses[status] = {"description": description or _DEFAULT_DESCRIPTIONS[status]}
    responses[status]["content"] = _ERROR_CONTENT


def one_of_shapes(responses: dict[str, Any]) -> None:
    # A response that is one shape or another (GET /v1/volumes/{id}) is exactly
    # one of them: say oneOf, as the API document does, not FastAPI's anyOf.
    for response in responses.values():
        schema = response.get("content", {}).get("application/json", {}).get("schema", {})
        if "anyOf" in schema and all("$ref" in s for s in schema["anyOf"]):
            schema["oneOf"] = schema.pop("anyOf")


_RETRY_SOON = {
    "description": "Seconds to wait before retrying (when the rate-limit store is out of reach)",
    "schema": {"type": "integer", "minimum": 1},
}
REQUEST_ID_HEADER = {
    "description": "The request's id: the client's own X-Request-Id when it sent a usable one "
    "(at most 128 characters of A-Z a-z 0-9 . _ : + / = -), else a new one. Log lines "
    "and a 500's message name it.",
    "schema": {"type": "string", "maxLength": 128},
}


def request_id_headers(responses: dict[str, Any]) -> None:
    for response in responses.values():
        response.setdefault("headers", {})["X-Request-Id"] = REQUEST_ID_HEADER


def _complete_operation(op: dict[str, Any]) -> None:
    responses: dict[str, Any] = op.setdefault("responses", {})
    responses.pop("422", None)
    one_of_shapes(responses)
    for status in list(responses):
        if status.startswith(("4", "5")):
            add_error_response(responses, status)
    if op.get("parameters") or op.get("requestBody"):
        add_error_response(responses, "400")
    if op.get("security"):
        add_error_response(responses, "401")
        add_error_response(responses, "403")
    add_error_response(responses, "500")


def base_document(
    routes: Sequence[BaseRoute], title: str, description: str, server_url: str
) -> dict[str, Any]:
    """FastAPI's document with the error model in place of its validation errors
    (both the public and the control API's documents start here)."""
    complete_deferred_models()
    document = get_openapi(
        title=title,
        version="v1",
        openapi_version="3.1.0",
        summary=f"verda-server {__version__}",
        description=description,
        routes=routes,
        servers=[{"url": server_url}],
        separate_input_output_schemas=False,
    )
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["PublicApiErrorResponseDto"] = PublicApiErrorResponseDto.model_json_schema()
    return document


def build_openapi(app: FastAPI, server_url: str, catalog: Catalog) -> dict[str, Any]:
    document = base_document(app.routes, TITLE, DESCRIPTION, server_url)
    schemas: dict[str, Any] = document["components"]["schemas"]
    for model in _EXTRA_SCHEMAS:
        schemas[model.__name__] = model.model_json_schema()
    for item in document["paths"].values():
        for op in item.values():
            _complete_operation(op)
    complete_request_schemas(document, catalog)
    complete_rate_limits(document)
    for item in document["paths"].values():
        for op in item.values():
            responses = op["responses"]
            if "429" in responses:
                # With Redis: its counters out of reach (ratelimits/counters.py).
                add_error_response(responses, "503")
                headers = responses["503"].setdefault("headers", {})
                headers["Retry-After"] = _RETRY_SOON
                for name in ("RateLimit-Policy", "RateLimit"):
                    headers.setdefault(name, responses["429"]["headers"][name])
            request_id_headers(op["responses"])  # the 429s included
    return document


def install_openapi(app: FastAPI, server_url: str) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app, server_url, app.state.context.catalog)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
