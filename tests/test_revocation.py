"""An access token lives only as long as its credential, and only on its own store."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx
import pytest

from tests.support.live import TLS, start_live_server
from tests.support.tokens import bearer, claims_of, resign
from tests.test_errors import assert_error
from verda_server.api.errors import ApiError
from verda_server.config import sqlite_url
from verda_server.projects import service as projects

TOKEN = "/v1/oauth2/token"
SCRIPT = {"name": "s", "script": "#!/bin/sh\necho hi"}

# The operations the issue saw answer 500, 200 [] or 404 for a foreign token, and more.
OPERATIONS = [
    ("GET", "/v1/balance", None),
    ("GET", "/v1/volumes", None),
    ("GET", "/v1/volumes/trash", None),
    ("POST", "/v1/scripts", SCRIPT),
    ("POST", "/v1/instances", {}),
    ("GET", "/v1/instances", None),
    ("GET", "/v1/sshkeys", None),
    ("GET", "/v1/images", None),
    ("PUT", "/v1/volumes", {}),
    ("GET", "/v1/instance-availability", None),
]


def _rotate(live, client_id: str, new_secret: str) -> None:
    """What a restart with a new `--client-secret` does to the configured pair."""
    ctx = live.context
    with ctx.db.write() as session:
        projects.bootstrap(
            session,
            ctx.clock,
            balance=Decimal(0),
            currency="usd",
            client_id=client_id,
            client_secret=new_secret,
        )


def _revoke(live, client_id: str) -> None:
    with live.context.db.write() as session:
        projects.revoke_credential(session, client_id)


def test_a_rotated_secret_ends_the_access_tokens_it_obtained(live, http, project):
    token = project.access_token(http)
    assert http.get("/v1/balance", headers=bearer(token)).status_code == 200
    _rotate(live, project.client_id, "second-secret-5678")
    for method, path, body in (("GET", "/v1/balance", None), ("POST", "/v1/scripts", SCRIPT)):
        response = http.request(method, path, json=body, headers=bearer(token))
        assert "revoked" in assert_error(response, 401, "unauthorized_request")
    fresh = http.post(
        TOKEN,
        json={
            "grant_type": "client_credentials",
            "client_id": project.client_id,
            "client_secret": "second-secret-5678",
        },
    )
    assert fresh.status_code == 200
    headers = bearer(fresh.json()["access_token"])
    assert http.get("/v1/balance", headers=headers).status_code == 200


def test_a_revoked_credential_ends_its_access_and_refresh_tokens(live, http, project):
    other = live.new_project()
    with live.context.db.write() as session:
        second_id, second_secret = projects.add_credential(
            session, live.context.clock, project.project_id
        )
    issued = project.token_response(http)
    kept = http.post(
        TOKEN,
        json={
            "grant_type": "client_credentials",
            "client_id": second_id,
            "client_secret": second_secret,
        },
    ).json()["access_token"]
    other_token = other.access_token(http)
    _revoke(live, project.client_id)
    assert_error(
        http.get("/v1/balance", headers=bearer(str(issued["access_token"]))),
        401,
        "unauthorized_request",
    )
    refresh = {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]}
    assert_error(http.post(TOKEN, json=refresh), 401, "unauthorized_request")
    grant = {
        "grant_type": "client_credentials",
        "client_id": project.client_id,
        "client_secret": project.client_secret,
    }
    assert_error(http.post(TOKEN, json=grant), 401, "unauthorized_request")
    # Only that credential: the project's other one and other projects go on.
    assert http.get("/v1/balance", headers=bearer(kept)).status_code == 200
    assert http.get("/v1/balance", headers=bearer(other_token)).status_code == 200


def test_revoking_an_unknown_credential_is_not_found(live):
    with pytest.raises(ApiError, match="not found"), live.context.db.write() as session:
        projects.revoke_credential(session, "no-such-client")


def _foreign_claims(live, http, project, case: str) -> dict:
    claims = claims_of(project.access_token(http))
    if case == "unknown client and project":
        return {**claims, "sub": "unknown-client", "project_id": str(uuid.uuid4())}
    if case == "unknown project":
        return {**claims, "project_id": str(uuid.uuid4())}
    if case == "another project":
        return {**claims, "project_id": live.new_project().project_id}
    assert case == "another secret"
    return {**claims, "cst": "0" * 16}


CASES = ["unknown client and project", "unknown project", "another project", "another secret"]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS)
def test_a_validly_signed_token_the_store_does_not_back_is_unauthorized(
    live, http, project, case, method, path, body
):
    token = resign(live, _foreign_claims(live, http, project, case))
    response = http.request(method, path, json=body, headers=bearer(token))
    assert_error(response, 401, "unauthorized_request")


def test_every_authenticated_operation_refuses_a_token_of_an_unknown_credential(
    live, http, project, contract
):
    token = resign(live, _foreign_claims(live, http, project, "unknown client and project"))
    refused = []
    for template, item in contract.document["paths"].items():
        path = template.replace("{", "").replace("}", "")  # any value for a parameter
        for method, operation in item.items():
            if not operation.get("security"):
                continue
            body = {} if method in ("post", "put", "delete") else None
            response = http.request(method, path, json=body, headers=bearer(token))
            refused.append((method, template, response.status_code))
    assert refused and {status for *_, status in refused} == {401}, refused


def test_two_servers_sharing_a_signing_key_do_not_share_tokens(empty_database_url, tmp_path):
    key = "shared-signing-key-" * 3
    elsewhere = sqlite_url(tmp_path / "elsewhere")
    (tmp_path / "elsewhere").mkdir()
    with (
        start_live_server(empty_database_url, signing_key=key) as first,
        start_live_server(elsewhere, signing_key=key) as second,
        httpx.Client(verify=TLS, base_url=first.base_url) as to_first,
        httpx.Client(verify=TLS, base_url=second.base_url) as to_second,
    ):
        token = first.new_project().access_token(to_first)
        assert to_first.get("/v1/balance", headers=bearer(token)).status_code == 200
        for path in ("/v1/balance", "/v1/volumes", "/v1/volumes/trash", "/v1/instances"):
            assert_error(to_second.get(path, headers=bearer(token)), 401, "unauthorized_request")
        assert_error(
            to_second.post("/v1/scripts", json=SCRIPT, headers=bearer(token)),
            401,
            "unauthorized_request",
        )
