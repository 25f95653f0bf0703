"""OAuth2 token endpoint and bearer-token checks, through the real HTTP stack."""

from __future__ import annotations

import base64
import json
import math

import jwt
import pytest
from sqlalchemy import select

from tests.support.tokens import bearer, claims_of, resign
from verda_server.auth.models import Credential, RefreshToken
from verda_server.auth.secrets import digest

TOKEN = "/v1/oauth2/token"


def _error(response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message"}
    assert body["code"] == code
    assert body["message"]
    return body["message"]


def test_client_credentials_returns_the_five_documented_fields(http, project):
    response = http.post(
        TOKEN,
        json={
            "grant_type": "client_credentials",
            "client_id": project.client_id,
            "client_secret": project.client_secret,
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "scope", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "cloud-api-v1"
    assert body["expires_in"] == 3600 and isinstance(body["expires_in"], int)
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["project_id"] == project.project_id
    assert claims["scope"] == "cloud-api-v1"
    assert claims["exp"] - claims["iat"] == 3600


def test_form_encoded_token_request(http, project):
    response = http.post(
        TOKEN,
        data={
            "grant_type": "client_credentials",
            "client_id": project.client_id,
            "client_secret": project.client_secret,
        },
    )
    assert response.status_code == 200, response.text
    refreshed = http.post(
        TOKEN,
        data={"grant_type": "refresh_token", "refresh_token": response.json()["refresh_token"]},
    )
    assert refreshed.status_code == 200, refreshed.text


def test_access_token_opens_authenticated_endpoints(http, project):
    token = project.access_token(http)
    response = http.get("/v1/balance", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_refresh_rotates_and_is_single_use(http, project):
    first = project.token_response(http)
    second = http.post(
        TOKEN, json={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    assert second.status_code == 200
    body = second.json()
    assert set(body) == {"access_token", "refresh_token", "scope", "token_type", "expires_in"}
    assert body["refresh_token"] != first["refresh_token"]
    assert (
        http.get(
            "/v1/balance", headers={"Authorization": f"Bearer {body['access_token']}"}
        ).status_code
        == 200
    )
    reused = http.post(
        TOKEN, json={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    _error(reused, 401, "unauthorized_request")


def test_reusing_a_spent_refresh_token_revokes_its_descendants(http, project):
    first = project.token_response(http)
    second = http.post(
        TOKEN, json={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    ).json()
    http.post(TOKEN, json={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    stolen_successor = http.post(
        TOKEN, json={"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}
    )
    _error(stolen_successor, 401, "unauthorized_request")
    # A fresh client-credentials grant starts a new, working family.
    again = project.token_response(http)
    assert (
        http.post(
            TOKEN, json={"grant_type": "refresh_token", "refresh_token": again["refresh_token"]}
        ).status_code
        == 200
    )


def test_unknown_refresh_token(http):
    response = http.post(TOKEN, json={"grant_type": "refresh_token", "refresh_token": "nope"})
    _error(response, 401, "unauthorized_request")


def test_refresh_token_expires_by_the_server_clock(live, http, project):
    first = project.token_response(http)
    live.clock.advance(live.context.settings.refresh_token_ttl + 1)
    response = http.post(
        TOKEN, json={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    _error(response, 401, "unauthorized_request")


def test_the_go_sdk_refresh_body_with_client_fields_is_accepted(http, project):
    first = project.token_response(http)
    response = http.post(
        TOKEN,
        json={
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "client_id": project.client_id,
            "client_secret": project.client_secret,
        },
    )
    assert response.status_code == 200, response.text


def test_wrong_secret_and_unknown_client(http, project):
    wrong = http.post(
        TOKEN,
        json={
            "grant_type": "client_credentials",
            "client_id": project.client_id,
            "client_secret": project.client_secret + "x",
        },
    )
    _error(wrong, 401, "unauthorized_request")
    unknown = http.post(
        TOKEN,
        json={"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"},
    )
    _error(unknown, 401, "unauthorized_request")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "grant_type"),
        ({"grant_type": "client_credentials", "client_secret": "s"}, "client_id"),
        ({"grant_type": "client_credentials", "client_id": "c"}, "client_secret"),
        ({"grant_type": "client_credentials", "client_id": "", "client_secret": "s"}, "client_id"),
        ({"grant_type": "client_credentials", "client_id": 5, "client_secret": "s"}, "client_id"),
        ({"grant_type": "refresh_token"}, "refresh_token"),
        ({"grant_type": "password", "username": "u"}, "grant_type"),
    ],
)
def test_bad_token_requests_name_the_field(http, body, field):
    message = _error(http.post(TOKEN, json=body), 400, "invalid_request")
    assert field in message


def test_malformed_token_bodies(http):
    _error(
        http.post(TOKEN, content=b"{not json", headers={"Content-Type": "application/json"}),
        400,
        "invalid_request",
    )
    _error(
        http.post(TOKEN, content=b"[1, 2]", headers={"Content-Type": "application/json"}),
        400,
        "invalid_request",
    )


def test_missing_and_malformed_authorization(http):
    _error(http.get("/v1/balance"), 401, "unauthorized_request")
    _error(
        http.get("/v1/balance", headers={"Authorization": "Basic abc"}), 401, "unauthorized_request"
    )
    _error(
        http.get("/v1/balance", headers={"Authorization": "Bearer"}), 401, "unauthorized_request"
    )
    _error(
        http.get("/v1/balance", headers={"Authorization": "Bearer not.a.jwt"}),
        401,
        "unauthorized_request",
    )


def test_expired_access_token_by_the_server_clock(live, http, project):
    token = project.access_token(http)
    headers = {"Authorization": f"Bearer {token}"}
    assert http.get("/v1/balance", headers=headers).status_code == 200
    live.clock.advance(3601)
    message = _error(http.get("/v1/balance", headers=headers), 401, "unauthorized_request")
    assert "expired" in message.lower()


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_forged_tokens_are_rejected(live, http, project):
    claims = jwt.decode(project.access_token(http), options={"verify_signature": False})
    kid, _ = live.context.tokens._keys.signing_key()
    wrong_key = jwt.encode(claims, "not-the-key-" * 4, algorithm="HS256", headers={"kid": kid})
    _error(
        http.get("/v1/balance", headers={"Authorization": f"Bearer {wrong_key}"}),
        401,
        "unauthorized_request",
    )
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{_b64(claims)}."
    _error(
        http.get("/v1/balance", headers={"Authorization": f"Bearer {unsigned}"}),
        401,
        "unauthorized_request",
    )
    unknown_kid = jwt.encode(claims, "k" * 48, algorithm="HS256", headers={"kid": "made-up"})
    _error(
        http.get("/v1/balance", headers={"Authorization": f"Bearer {unknown_kid}"}),
        401,
        "unauthorized_request",
    )


def test_a_token_without_the_api_scope_is_forbidden(live, http, project):
    claims = jwt.decode(project.access_token(http), options={"verify_signature": False})
    kid, key = live.context.tokens._keys.signing_key()
    claims["scope"] = "something-else"
    token = jwt.encode(claims, key, algorithm="HS256", headers={"kid": kid})
    message = _error(
        http.get("/v1/balance", headers={"Authorization": f"Bearer {token}"}),
        403,
        "forbidden_action",
    )
    assert message == "Insufficient scope"


def test_secrets_and_refresh_tokens_are_stored_only_as_hashes(live, http):
    project = live.new_project(server_hashed=True)
    refresh = project.token_response(http)["refresh_token"]
    with live.context.db.read() as session:
        credential = session.get(Credential, project.client_id)
        assert credential is not None
        assert project.client_secret not in credential.secret_hash
        assert credential.secret_hash.startswith("scrypt$")
        stored = session.scalars(
            select(RefreshToken.token_hash).where(RefreshToken.client_id == project.client_id)
        ).all()
    assert stored and refresh not in stored
    assert all(len(h) == 64 for h in stored)


def test_tokens_from_one_project_never_see_another(live, http):
    a, b = live.new_project(balance="11"), live.new_project(balance="22")
    for creds, amount in ((a, 11), (b, 22)):
        token = creds.access_token(http)
        body = http.get("/v1/balance", headers={"Authorization": f"Bearer {token}"}).json()
        assert body["amount"] == amount


def test_expired_refresh_tokens_are_pruned(live, http, project):
    project.token_response(http)
    with live.context.db.read() as session:
        before = session.scalars(
            select(RefreshToken).where(RefreshToken.client_id == project.client_id)
        ).all()
    assert before
    live.clock.advance(live.context.settings.refresh_token_ttl + 1)
    assert live.context.tokens.prune() >= len(before)
    with live.context.db.read() as session:
        assert not session.scalars(
            select(RefreshToken).where(RefreshToken.client_id == project.client_id)
        ).all()


def test_an_access_token_works_until_the_second_before_its_expiry(live, http, project):
    token = project.access_token(http)
    headers = {"Authorization": f"Bearer {token}"}
    expires_at = claims_of(token)["exp"]
    live.clock.advance(expires_at - 1 - live.clock.timestamp())
    assert http.get("/v1/balance", headers=headers).status_code == 200
    live.clock.advance(1)
    message = _error(http.get("/v1/balance", headers=headers), 401, "unauthorized_request")
    assert "expired" in message.lower()
    live.clock.advance(1)
    _error(http.get("/v1/balance", headers=headers), 401, "unauthorized_request")


def _far(claims: dict) -> int:
    return int(claims["exp"]) + 3600


_NOT_WHOLE_SECONDS = {
    "exp-fraction": ("exp", lambda c: _far(c) + 0.5),
    "exp-float": ("exp", lambda c: float(_far(c))),
    "exp-bool": ("exp", lambda c: True),
    "exp-string": ("exp", lambda c: str(_far(c))),
    "exp-beyond-2**53": ("exp", lambda c: 2**53),
    "exp-huge": ("exp", lambda c: 10**40),
    "exp-infinite": ("exp", lambda c: math.inf),
    "exp-nan": ("exp", lambda c: math.nan),
    "exp-missing": ("exp", lambda c: None),
    "iat-fraction": ("iat", lambda c: c["iat"] + 0.5),
    "iat-float": ("iat", lambda c: float(c["iat"])),
    "iat-bool": ("iat", lambda c: False),
    "iat-string": ("iat", lambda c: str(c["iat"])),
    "iat-negative": ("iat", lambda c: -1),
    "iat-huge": ("iat", lambda c: 10**40),
    "iat-nan": ("iat", lambda c: math.nan),
    "iat-missing": ("iat", lambda c: None),
    "iat-after-exp": ("iat", lambda c: c["exp"] + 1),
}


@pytest.mark.parametrize(("claim", "value"), _NOT_WHOLE_SECONDS.values(), ids=_NOT_WHOLE_SECONDS)
def test_time_claims_must_be_whole_seconds(live, http, project, claim, value):
    claims = claims_of(project.access_token(http))
    token = resign(live, claims, **{claim: value(claims)})  # None drops the claim
    message = _error(http.get("/v1/balance", headers=bearer(token)), 401, "unauthorized_request")
    assert message == "Invalid access token"


def test_pruning_keeps_every_refresh_token_until_its_expiry(live, http, project):
    first = project.token_response(http)
    live.clock.advance(10)
    second = http.post(
        TOKEN, json={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    ).json()
    with live.context.db.read() as session:
        expires_at = session.scalar(
            select(RefreshToken.expires_at).where(
                RefreshToken.token_hash == digest(str(first["refresh_token"]))
            )
        )
    assert expires_at is not None

    def stored() -> int:
        with live.context.db.read() as session:
            rows = session.scalars(
                select(RefreshToken.token_hash).where(RefreshToken.client_id == project.client_id)
            ).all()
        return len(rows)

    live.clock.advance((expires_at - live.clock.now()).total_seconds() - 1)
    live.context.tokens.prune()
    assert stored() == 2  # the spent one too: its reuse must still be recognised
    live.clock.advance(1)
    live.context.tokens.prune()
    assert stored() == 1
    refreshed = http.post(
        TOKEN, json={"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}
    )
    assert refreshed.status_code == 200
