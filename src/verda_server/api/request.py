"""The base of every request body model.

Clients send whole structures: the Python SDK serialises dataclasses with
`null` for every unset field, the Go SDK `null` for unset pointers. So `null`
means "absent" everywhere (a required field sent as `null` is missing, with the
same 400), and fields the server does not know are ignored. The served document
says the same: every optional field also admits `null`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator

# Annotations kept beside a field's type when `null` is added to it.
_ANNOTATIONS = ("title", "description", "default", "deprecated", "examples")


def admits_null(schema: dict[str, Any]) -> bool:
    if schema.get("type") == "null" or "null" in (schema.get("type") or []):
        return True
    return any(admits_null(s) for s in [*schema.get("anyOf", ()), *schema.get("oneOf", ())])


def _or_null(schema: dict[str, Any]) -> dict[str, Any]:
    if admits_null(schema):
        return schema
    kept = {k: schema[k] for k in _ANNOTATIONS if k in schema}
    value = {k: v for k, v in schema.items() if k not in _ANNOTATIONS}
    return {"anyOf": [value, {"type": "null"}], **kept}


def _request_schema(schema: dict[str, Any], model: type[BaseModel]) -> None:
    required = set(schema.get("required", ()))
    properties: dict[str, Any] = schema.get("properties", {})
    for name, field in properties.items():
        if name not in required:
            properties[name] = _or_null(field)
    rules = getattr(model, "schema_rules", None)
    if rules:
        schema["allOf"] = list(rules)


class RequestModel(BaseModel):
    # extra="ignore" is pydantic's default; said here because clients rely on it.
    model_config = ConfigDict(extra="ignore", json_schema_extra=_request_schema)

    # Constraints between fields, as JSON Schema (`if`/`then`), that the served
    # document states for what the service checks across fields.
    schema_rules: ClassVar[tuple[dict[str, Any], ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data
