"""The control API's own OpenAPI document, served at /_admin/v1/openapi.json."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, FastAPI

from verda_server.api.openapi import (
    add_error_response,
    base_document,
    one_of_shapes,
    request_id_headers,
)

PREFIX = "/_admin/v1"
DOCUMENT_PATH = f"{PREFIX}/openapi.json"
TITLE = "verda-server control API"
DESCRIPTION = (
    "For the people who run verda-server and the test suites that drive it: projects and "
    "credentials, money, capacity, time, lifecycle timing, faults, journal, reset and "
    "snapshots. Every operation takes the admin token as a bearer token; no project token "
    "opens it. Errors are the public API's `{code, message}`."
)


def build_document(routers: Sequence[APIRouter], server_url: str) -> dict[str, Any]:
    # The routers are in the server's app without a place in its (public)
    # document; a bare app of their own gives them theirs.
    documented = FastAPI()
    for router in routers:
        documented.include_router(router)
    document = base_document(documented.routes, TITLE, DESCRIPTION, server_url)
    for item in document["paths"].values():
        for op in item.values():
            responses: dict[str, Any] = op.setdefault("responses", {})
            responses.pop("422", None)
            one_of_shapes(responses)
            for status in [s for s in responses if s.startswith(("4", "5"))]:
                add_error_response(responses, status)
            if op.get("parameters") or op.get("requestBody"):
                add_error_response(responses, "400")
            add_error_response(responses, "401", "The admin token is missing or wrong")
            add_error_response(responses, "500")
            request_id_headers(responses)
    return document
