"""What the document says about requests beyond what the models declare.

Two things depend on more than one model: the values of the loaded catalog
(fields marked by api/catalog_enums.py), and the body guard's rule that no text
anywhere in a body holds a NUL character (api/guard.py), unknown fields
included. Both are filled in here, so that a request the document allows is one
the server accepts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from verda_server.api.catalog_enums import CATALOG
from verda_server.api.ids import UUID_SCHEMA
from verda_server.catalog.service import Catalog
from verda_server.volumes.service import CLUSTER_ONLY_TYPES

# "Holds no NUL", said as `not` a pattern: generators handle that far faster.
HAS_NUL: dict[str, Any] = {"pattern": "\\u0000"}
ANY_JSON = "JsonValueWithoutNul"
_ANY_JSON_REF = {"$ref": f"#/components/schemas/{ANY_JSON}"}
# Any JSON value whose text (keys included) holds no NUL: the unknown fields.
ANY_JSON_SCHEMA: dict[str, Any] = {
    "description": "Any JSON value whose strings and keys hold no NUL character",
    "anyOf": [
        {"type": ["null", "boolean", "number"]},
        {"type": "string", "not": HAS_NUL},
        {"type": "array", "items": _ANY_JSON_REF},
        {
            "type": "object",
            "propertyNames": {"not": HAS_NUL},
            "additionalProperties": _ANY_JSON_REF,
        },
    ],
}
# Keywords that already rule NUL out.
_CLOSED = ("enum", "const", "format")


def _image_choice(catalog: Catalog, image_types: list[str]) -> dict[str, Any]:
    ids = [catalog.images[t].id for t in image_types]
    return {"anyOf": [{"type": "string", "enum": image_types + ids}, UUID_SCHEMA]}


def _supported_images(catalog: Catalog) -> dict[str, Any]:
    """One rule per set of supported images: those types take only those images."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for name, spec in catalog.instance_types.items():
        groups.setdefault(tuple(spec.supported_os), []).append(name)
    return {
        "allOf": [
            {
                "if": {
                    "required": ["instance_type"],
                    "properties": {"instance_type": {"enum": names}},
                },
                "then": {"properties": {"image": _image_choice(catalog, list(images))}},
            }
            for images, names in groups.items()
        ]
    }


def _coupon_types(catalog: Catalog) -> dict[str, Any]:
    """A coupon for some instance types only goes with those types."""
    rules = [
        {
            "if": {"required": ["coupon"], "properties": {"coupon": {"const": code}}},
            "then": {
                "required": ["instance_type"],
                "properties": {"instance_type": {"enum": coupon.instance_types}},
            },
        }
        for code, coupon in catalog.coupons.items()
        if coupon.instance_types is not None
    ]
    # `allOf` must not be empty: a catalog without such coupons adds nothing.
    return {"allOf": rules} if rules else {}


def _cluster_image_choice(catalog: Catalog, image_types: list[str]) -> dict[str, Any]:
    images = [catalog.cluster_images[t] for t in image_types]
    refs = image_types + [i.id for i in images] + [i.name for i in images]
    return {"type": "string", "enum": list(dict.fromkeys(refs))}


def _supported_cluster_images(catalog: Catalog) -> dict[str, Any]:
    groups: dict[tuple[str, ...], list[str]] = {}
    for name, spec in catalog.cluster_types.items():
        groups.setdefault(tuple(spec.supported_os), []).append(name)
    return {
        "allOf": [
            {
                "if": {
                    "required": ["cluster_type"],
                    "properties": {"cluster_type": {"enum": names}},
                },
                "then": {"properties": {"image": _cluster_image_choice(catalog, list(images))}},
            }
            for images, names in groups.items()
        ]
    }


def _fill(node: dict[str, Any], catalog: Catalog) -> None:
    kind = node.pop(CATALOG)
    if kind == "location":
        node["enum"] = list(catalog.locations)
    elif kind == "instance_type":
        node["enum"] = list(catalog.instance_types)
    elif kind == "volume_type":
        node["enum"] = [t for t in catalog.volume_types if t not in CLUSTER_ONLY_TYPES]
    elif kind == "image":
        node.pop("type", None)
        node.update(_image_choice(catalog, list(catalog.images)))
    elif kind == "long_term_period":
        enabled = [p for p in catalog.long_term_periods.instances if p.is_enabled]
        node["enum"] = [p.code for p in enabled] + [p.name for p in enabled]
    elif kind == "coupon":
        node["enum"] = list(catalog.coupons)
    elif kind == "coupon_types":
        node.update(_coupon_types(catalog))
    elif kind == "supported_images":
        node.update(_supported_images(catalog))
    elif kind == "cluster_type":
        node["enum"] = list(catalog.cluster_types)
    elif kind == "cluster_image":
        node.update(_cluster_image_choice(catalog, list(catalog.cluster_images)))
    elif kind == "supported_cluster_images":
        node.update(_supported_cluster_images(catalog))
    else:
        raise ValueError(f"unknown catalog kind {kind!r}")


def _nodes(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for item in list(value.values()):
            yield from _nodes(item)
    elif isinstance(value, list):
        for item in value:
            yield from _nodes(item)


def _request_schema_names(document: dict[str, Any]) -> set[str]:
    schemas = document["components"]["schemas"]
    pending = [
        op["requestBody"]
        for item in document["paths"].values()
        for op in item.values()
        if "requestBody" in op
    ]
    names: set[str] = set()
    while pending:
        for node in _nodes(pending.pop()):
            ref = node.get("$ref", "")
            name = ref.rsplit("/", 1)[-1]
            if ref.startswith("#/components/schemas/") and name not in names:
                names.add(name)
                pending.append(schemas[name])
    return names


def _without_nul(schema: dict[str, Any]) -> None:
    for node in _nodes(schema):
        if node.get("type") == "string" and not any(k in node for k in _CLOSED):
            ruled_out = node.get("not")
            node["not"] = {"anyOf": [ruled_out, HAS_NUL]} if ruled_out else HAS_NUL
        if node.get("type") == "object" and "properties" in node:
            node["propertyNames"] = {"not": HAS_NUL}
            node["additionalProperties"] = _ANY_JSON_REF


def complete_request_schemas(document: dict[str, Any], catalog: Catalog) -> None:
    for node in list(_nodes(document)):
        if CATALOG in node:
            _fill(node, catalog)
    schemas: dict[str, Any] = document["components"]["schemas"]
    for name in _request_schema_names(document):
        _without_nul(schemas[name])
    schemas[ANY_JSON] = ANY_JSON_SCHEMA
