"""The served OpenAPI document: valid, complete, and truthful about auth and errors."""

from __future__ import annotations

import re

import httpx
import jsonschema
import pytest
from fastapi.routing import APIRoute
from openapi_spec_validator import validate

from tests.test_catalog import PRIVATE, PUBLIC
from verda_server.app import ROUTERS

DOCUMENT_SCHEMAS = {
    "PublicApiErrorResponseDto",
    "GetAccessTokenDto",
    "RefreshAccessTokenPublicApiDto",
    "GetAccessTokenResponseDto",
    "BalanceResponseDto",
    "Os",
    "InstanceType",
    "ClusterType",
    "ContainerType",
    "VolumeType",
    "Location",
    "LongTermPeriodResponseDto",
    "InstanceAvailabilityResponseDto",
    "ClusterAvailabilityResponseDto",
}


@pytest.fixture
def document(contract):
    return contract.document


def test_it_is_a_valid_openapi_3_1_document_served_without_a_token(http):
    response = http.get("/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"] == "3.1.0"
    validate(document)


def _route_operations() -> set[tuple[str, str]]:
    operations = set()
    for router in ROUTERS:
        for route in router.routes:
            assert isinstance(route, APIRoute), route
            operations.update((method.lower(), route.path_format) for method in route.methods)
    return operations


def test_every_route_is_documented_and_nothing_else(document):
    documented = {(method, path) for path, item in document["paths"].items() for method in item}
    assert documented == _route_operations()


def test_schema_names_follow_the_api_document(document):
    assert set(document["components"]["schemas"]) >= DOCUMENT_SCHEMAS
    assert "HTTPValidationError" not in document["components"]["schemas"]


def _operation(document, path: str) -> dict:
    for template, item in document["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if template == path or re.match(pattern, path):
            if template != path and path in document["paths"]:
                continue
            return item["get"]
    raise AssertionError(f"{path} is not documented")


def test_security_is_declared_exactly_where_it_is_enforced(document):
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert scheme == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "Access token from POST /v1/oauth2/token",
    }
    for path in PUBLIC:
        assert "security" not in _operation(document, path), path
    for path in PRIVATE:
        assert _operation(document, path)["security"] == [{"bearerAuth": []}], path
    token = document["paths"]["/v1/oauth2/token"]["post"]
    assert "security" not in token
    assert set(token["requestBody"]["content"]) == {
        "application/json",
        "application/x-www-form-urlencoded",
    }


def test_errors_are_documented_with_the_error_schema(document):
    ref = {"$ref": "#/components/schemas/PublicApiErrorResponseDto"}
    for path, item in document["paths"].items():
        for method, op in item.items():
            responses = op["responses"]
            assert "422" not in responses, (method, path)
            assert "500" in responses
            if op.get("security"):
                assert {"401", "403"} <= set(responses), (method, path)
            for status, response in responses.items():
                if status[0] in "45":
                    assert response["content"]["application/json"]["schema"] == ref


def test_either_shapes_and_id_or_ids_fields_are_one_of(document):
    volume = document["paths"]["/v1/volumes/{volume_id}"]["get"]["responses"]["200"]
    assert volume["content"]["application/json"]["schema"]["oneOf"] == [
        {"$ref": "#/components/schemas/GetVolumePublicResponseDto"},
        {"$ref": "#/components/schemas/GetVolumeInTrashPublicResponseDto"},
    ]
    schemas = document["components"]["schemas"]
    for name, field in (
        ("PerformInstanceActionPublicDto", "id"),
        ("PerformVolumeActionPublicDto", "id"),
        ("DeployInstancePublicDto", "ssh_key_ids"),
    ):
        prop = schemas[name]["properties"][field]
        one_of = prop.get("oneOf") or next(s["oneOf"] for s in prop["anyOf"] if "oneOf" in s)
        assert {s["type"] for s in one_of} == {"string", "array"}, name
    assert "location_code" in schemas["DeployInstancePublicDto"]["required"]
    assert "location_code" in schemas["CreateVolumePublicDto"]["required"]
    assert (
        "restore" not in schemas["PerformInstanceActionPublicDto"]["properties"]["action"]["enum"]
    )


def test_the_response_check_on_every_raw_request_can_fail(contract):
    def response(method: str, path: str, status: int, **kwargs) -> httpx.Response:
        request = httpx.Request(method, "http://test" + path)
        return httpx.Response(status, request=request, headers=_SERVED, **kwargs)

    contract.verify(response("GET", "/v1/balance", 200, json={"amount": 1, "currency": "usd"}))
    without_id = httpx.Response(200, request=httpx.Request("GET", "http://test/v1/balance"))
    with pytest.raises(AssertionError, match="no X-Request-Id"):
        contract.verify(without_id)
    for bad in (
        response("PUT", "/v1/instances", 200, json=[]),  # never 200
        response("GET", "/v1/balance", 200, json={"amount": "1", "currency": "usd"}),
        response("GET", "/v1/balance", 401, json={"detail": "Not authenticated"}),
        response("GET", "/v1/nowhere", 200, json={}),
        response("POST", "/v1/sshkeys", 201, text='"quoted-id"'),
    ):
        with pytest.raises((AssertionError, jsonschema.ValidationError, ValueError)):
            contract.verify(bad)


# What the server adds to every response.
_SERVED = {"X-Request-Id": "0" * 32}


def _response(method: str, path: str, status: int, **kwargs) -> httpx.Response:
    request = httpx.Request(method, "http://test" + path)
    return httpx.Response(status, request=request, headers=_SERVED, **kwargs)


def test_the_response_check_wants_a_body_exactly_where_content_is_documented(contract):
    some_id = "00000000-0000-4000-8000-000000000000"
    contract.verify(_response("PUT", "/v1/volumes", 202, json=[]))
    contract.verify(_response("DELETE", f"/v1/scripts/{some_id}", 200))
    contract.verify(_response("DELETE", f"/v1/volumes/{some_id}", 204))
    for empty in (
        _response("PUT", "/v1/volumes", 202),  # declares application/json for 202
        _response("GET", "/v1/balance", 200),
        _response("PUT", "/v1/instances", 202),
        _response("POST", "/v1/volumes", 202),  # declares text/plain
    ):
        with pytest.raises(AssertionError, match="with an empty body; documented"):
            contract.verify(empty)
    for unexpected in (
        _response("DELETE", f"/v1/scripts/{some_id}", 200, json=[]),  # declares no content
        _response("DELETE", f"/v1/volumes/{some_id}", 202, text="ok"),
    ):
        with pytest.raises(AssertionError, match="documented: no content"):
            contract.verify(unexpected)
    with pytest.raises(AssertionError, match=r"with text/plain; documented: \['application/json'"):
        contract.verify(_response("PUT", "/v1/volumes", 202, text="[]"))
