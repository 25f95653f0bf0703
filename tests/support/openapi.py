"""Check real responses against the schemas of the served OpenAPI document."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema


class ContractChecker:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def schema_for(self, method: str, path: str, status: int) -> dict[str, Any]:
        operation = self.document["paths"][path][method.lower()]
        response = operation["responses"][str(status)]
        return dict(response["content"]["application/json"]["schema"])

    def check(self, response: httpx.Response, path: str) -> Any:
        """Validate `response` against the document's schema for `path`; return its body."""
        body = response.json()
        schema = self.schema_for(response.request.method, path, response.status_code)
        schema["components"] = self.document["components"]
        jsonschema.Draft202012Validator(schema).validate(body)
        return body
