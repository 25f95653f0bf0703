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
# Headers whose presence and syntax the document must declare wherever they occur.
CHECKED_HEADERS = ("ratelimit-policy", "ratelimit", "retry-after")


def _json_integer(_checker: Any, instance: Any) -> bool:
    # JSON Schema counts 80.0 as an integer; a Go client decoding into an int
    # does not (it fails on the decimal point), so neither do we.
    return isinstance(instance, int) and not isinstance(instance, bool)


# Draft 2020-12 with "integer" meaning an integer literal in the JSON text.
StrictValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _json_integer),
)


def _pattern(template: str) -> str:
    """A template's parameters match one segment each, except `{path}`: the path
    below a serverless endpoint, which spans any number (the document says so)."""
    return re.sub(r"\{[^}]+\}", "[^/]+", template.replace("{path}", ".+"))


class ContractChecker:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        # Static segments win over parameters, as in the router.
        templates = sorted(document["paths"], key=lambda t: (t.count("{"), t))
        self._routes = [(re.compile(_pattern(t)), t) for t in templates]

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
        # As the router: the first template that matches the path and has the method.
        for pattern, template in self._routes:
            operation = self.document["paths"][template].get(method.lower())
            if operation is not None and pattern.fullmatch(path):
                return dict(operation)
        return None

    def _header(self, declared: dict[str, Any]) -> dict[str, Any]:
        ref = declared.get("$ref")
        if ref is None:
            return declared
        return dict(self.document["components"]["headers"][ref.rsplit("/", 1)[1]])

    def _verify_headers(
        self, response: httpx.Response, documented: dict[str, Any], answered: str
    ) -> None:
        declared = {
            name.lower(): self._header(header)
            for name, header in documented.get("headers", {}).items()
        }
        for name, header in declared.items():
            if header.get("required"):
                assert name in response.headers, f"{answered} without its required {name}"
        for name in CHECKED_HEADERS:
            if name not in response.headers:
                continue
            assert name in declared, f"{answered} with {name}, which is not documented"
            value, schema = response.headers[name], declared[name]["schema"]
            if schema.get("type") == "integer":
                assert re.fullmatch(r"[0-9]+", value), f"{answered} with {name}: {value!r}"
                StrictValidator(schema).validate(int(value))
            else:
                StrictValidator(schema).validate(value)

    def verify(self, response: httpx.Response) -> None:
        request = response.request
        # The path as sent: an escaped `/` inside a segment (a tag key) stays in it.
        path = request.url.raw_path.split(b"?", 1)[0].decode("ascii")
        if path in ("/v1/openapi.json", "/_admin/v1/openapi.json"):
            return
        operation = self.operation(request.method, path)
        assert response.headers.get("x-request-id"), f"{request.method} {path}: no X-Request-Id"
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
        answered = f"{request.method} {path} answered {response.status_code}"
        self._verify_headers(response, documented, answered)
        assert "X-Request-Id" in documented.get("headers", {}), f"{answered}: X-Request-Id?"
        content = documented.get("content")
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
        elif media == "text/plain" and content[media]["schema"].get("format") == "uuid":
            uuid.UUID(response.text)
