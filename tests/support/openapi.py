"""Check real responses against the served OpenAPI document.

`ContractChecker.verify` runs on every response of the `http` fixture, so each
test also proves that what it saw is documented: the operation, the status, the
content type and the body's schema.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import jsonschema

ERROR_REF = "#/components/schemas/PublicApiErrorResponseDto"


def _json_integer(_checker: Any, instance: Any) -> bool:
    # JSON Schema counts 80.0 as an integer; a Go client decoding into an int
    # does not (it fails on the decimal point), so neither do we.
    return isinstance(instance, int) and not isinstance(instance, bool)


# Draft 2020-12 with "integer" meaning an integer literal in the JSON text.
StrictValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _json_integer),
)


class ContractChecker:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        # Static segments win over parameters, as in the router.
        templates = sorted(document["paths"], key=lambda t: (t.count("{"), t))
        self._routes = [(re.compile(re.sub(r"\{[^}]+\}", "[^/]+", t)), t) for t in templates]

    def _validate(self, body: Any, schema: dict[str, Any]) -> None:
        full = dict(schema)
        full["components"] = self.document["components"]
        StrictValidator(full).validate(body)

    def schema_for(self, method: str, path: str, status: int) -> dict[str, Any]:
        operation = self.document["paths"][path][method.lower()]
        response = operation["responses"][str(status)]
        return dict(response["content"]["application/json"]["schema"])

    def check(self, response: httpx.Response, path: str) -> Any:
        """Validate `response` against the document's schema for `path`; return its body."""
        body = response.json()
        self._validate(body, self.schema_for(response.request.method, path, response.status_code))
        return body

    def operation(self, method: str, path: str) -> dict[str, Any] | None:
        for pattern, template in self._routes:
            if pattern.fullmatch(path):
                return self.document["paths"][template].get(method.lower())
        return None

    def verify(self, response: httpx.Response) -> None:
        request = response.request
        # The path as sent: an escaped `/` inside a segment (a tag key) stays in it.
        path = request.url.raw_path.split(b"?", 1)[0].decode("ascii")
        if path in ("/v1/openapi.json", "/_admin/v1/openapi.json"):
            return
        operation = self.operation(request.method, path)
        if "x-verda-fault" in response.headers:
            # An operator's injected answer (the control API documents those):
            # any error status, always the error model.
            assert response.status_code >= 400, "an injected fault that is not an error"
            self._validate(response.json(), {"$ref": ERROR_REF})
            return
        if operation is None:
            assert response.status_code == 404, f"{request.method} {path} is not documented"
            self._validate(response.json(), {"$ref": ERROR_REF})
            return
        documented = operation["responses"].get(str(response.status_code))
        assert documented is not None, (
            f"{request.method} {path} answered {response.status_code}, which is not documented"
        )
        content = documented.get("content")
        answered = f"{request.method} {path} answered {response.status_code}"
        if not response.content:
            # An empty body is only right where the document promises no content.
            assert not content, f"{answered} with an empty body; documented: {sorted(content)}"
            assert response.status_code in (200, 202, 204), "an empty body where one is owed"
            return
        media = response.headers.get("content-type", "").split(";")[0]
        assert content, f"{answered} with a {media or 'untyped'} body; documented: no content"
        assert media in content, f"{answered} with {media}; documented: {sorted(content)}"
        if media == "application/json":
            self._validate(response.json(), content[media]["schema"])
        elif media == "text/plain":
            uuid.UUID(response.text)
