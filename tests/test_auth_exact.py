"""Exact values of the auth layer: messages, boundaries, what is remembered and
for how long, which key signs. Each test here pins something a mutation-testing
run showed the rest of the suite left loose."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import re
import threading
from datetime import timedelta

import jwt
import pytest
from sqlalchemy import select

from tests.support.tokens import bearer, claims_of, resign
from tests.test_errors import assert_error
from verda_server.auth import signing as signing_module
from verda_server.auth import verifier as verifier_module
from verda_server.auth.access import MAX_TIMESTAMP, AccessTokenReader, sign
from verda_server.auth.models import Credential, RefreshToken, SigningKey
from verda_server.auth.secrets import check_secret, digest, hash_secret
from verda_server.auth.signing import KeyRing
from verda_server.auth.verifier import SecretVerifier, _Recent
from verda_server.storage.database import Database
from verda_server.storage.migrate import startup_lock, upgrade

TOKEN = "/v1/oauth2/token"
REFRESH_REFUSED = "Invalid or expired refresh token"


def _refresh(http, refresh_token: str):
    return http.post(TOKEN, json={"grant_type": "refresh_token", "refresh_token": refresh_token})


# Credentials and grants


def test_generated_credentials_and_refresh_tokens_have_their_full_length(live, http):
    project = live.new_project(server_hashed=True)
    assert re.fullmatch("[A-Za-z0-9]{21}", project.client_id)
    assert re.fullmatch("[A-Za-z0-9]{43}", project.client_secret)  # 256 bits
    refresh = str(project.token_response(http)["refresh_token"])
    assert re.fullmatch("[A-Za-z0-9_-]{64}", refresh)  # 384 bits
    with live.context.db.read() as session:
        stored = session.get(Credential, project.client_id)
        assert stored is not None
        scheme, n, r, p, salt, key = stored.secret_hash.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert len(base64.b64decode(salt)) == 16 and len(base64.b64decode(key)) == 64


def test_check_secret_accepts_only_the_secret_of_a_well_formed_scrypt_hash():
    stored = hash_secret("right")
    assert check_secret("right", stored) is True
    assert check_secret("wrong", stored) is False
    _, *rest = stored.split("$")
    assert check_secret("right", "$".join(["bcrypt", *rest])) is False
    for malformed in ("", "garbage", "scrypt$x$8$1$AAAA$AAAA", "$".join(["scrypt", *rest[:-1]])):
        assert check_secret("right", malformed) is False, malformed


def test_a_refused_grant_says_so_exactly(http, project):
    for client_id, secret in ((project.client_id, "wrong"), ("nobody", project.client_secret)):
        body = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
        message = assert_error(http.post(TOKEN, json=body), 401, "unauthorized_request")
        assert message == "Invalid client credentials"


# Refresh tokens


def test_a_refresh_token_works_until_the_instant_before_its_expiry(live, http, project):
    ttl = live.context.settings.refresh_token_ttl
    early, late = project.token_response(http), project.token_response(http)
    live.clock.advance(ttl - 1)
    assert _refresh(http, str(early["refresh_token"])).status_code == 200
    live.clock.advance(1)  # exactly its expires_at
    response = _refresh(http, str(late["refresh_token"]))
    assert assert_error(response, 401, "unauthorized_request") == REFRESH_REFUSED


def test_every_refused_refresh_says_so_exactly(live, http, project):
    assert assert_error(_refresh(http, "nope"), 401, "unauthorized_request") == REFRESH_REFUSED
    first = project.token_response(http)
    assert _refresh(http, str(first["refresh_token"])).status_code == 200
    reused = _refresh(http, str(first["refresh_token"]))
    assert assert_error(reused, 401, "unauthorized_request") == REFRESH_REFUSED


def _revoked_at(live, refresh_token: str):
    with live.context.db.read() as session:
        return session.scalar(
            select(RefreshToken.revoked_at).where(RefreshToken.token_hash == digest(refresh_token))
        )


def test_reuse_revokes_only_its_own_family_and_only_once(live, http, project):
    other_family = project.token_response(http)
    other_project = live.new_project().token_response(http)
    first = project.token_response(http)
    second = _refresh(http, str(first["refresh_token"])).json()
    assert _refresh(http, str(first["refresh_token"])).status_code == 401  # the leak
    revoked_at = _revoked_at(live, str(second["refresh_token"]))
    assert revoked_at == live.clock.now()
    live.clock.advance(5)
    assert _refresh(http, str(first["refresh_token"])).status_code == 401  # and again
    # The first revocation's time stands: a revoked token is not revoked anew.
    assert _revoked_at(live, str(second["refresh_token"])) == revoked_at
    # Neither the project's other grant nor another project is touched.
    for response in (other_family, other_project):
        assert _revoked_at(live, str(response["refresh_token"])) is None
        assert _refresh(http, str(response["refresh_token"])).status_code == 200


def test_prune_counts_what_it_deleted(live, http, project):
    project.token_response(http)
    live.clock.advance(live.context.settings.refresh_token_ttl)
    assert live.context.tokens.prune() >= 1
    assert live.context.tokens.prune() == 0  # nothing left to delete


# Access tokens


def test_an_access_token_carries_exactly_its_documented_claims(live, http, project):
    token = project.access_token(http)
    kid, key = live.context.tokens._keys.signing_key()
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT", "kid": kid}
    claims = jwt.decode(
        token, key, algorithms=["HS256"], options={"verify_exp": False, "verify_iat": False}
    )
    with live.context.db.read() as session:
        stored = session.get(Credential, project.client_id)
        assert stored is not None
        secret_hash = stored.secret_hash
    now = int(live.clock.timestamp())
    assert claims == {
        "iss": "verda-server",
        "sub": project.client_id,
        "project_id": project.project_id,
        "scope": "cloud-api-v1",
        "iat": now,
        "exp": now + 3600,
        "jti": claims["jti"],
        "cst": hashlib.sha256(secret_hash.encode()).hexdigest()[:16],
    }
    assert re.fullmatch("[0-9a-f]{32}", claims["jti"])
    assert claims_of(project.access_token(http))["jti"] != claims["jti"]


def test_an_unknown_signing_key_is_an_invalid_token(live, http, project):
    claims = claims_of(project.access_token(http))
    token = jwt.encode(claims, "k" * 48, algorithm="HS256", headers={"kid": "made-up"})
    message = assert_error(
        http.get("/v1/balance", headers=bearer(token)), 401, "unauthorized_request"
    )
    assert message == "Invalid access token"


@pytest.mark.parametrize(
    ("claim", "value"), [("iat", 0), ("exp", MAX_TIMESTAMP)], ids=["iat-0", "exp-2**53-1"]
)
def test_the_extreme_whole_second_time_claims_are_accepted(live, http, project, claim, value):
    token = resign(live, claims_of(project.access_token(http)), **{claim: value})
    assert http.get("/v1/balance", headers=bearer(token)).status_code == 200


def test_an_expired_token_says_so_exactly(live, http, project):
    token = project.access_token(http)
    claims = claims_of(token)
    now = int(live.clock.timestamp())
    expired = {
        # Long before the wall clock too: the server's clock alone decides.
        "in 1970": resign(live, claims, iat=0, exp=1),
        # Issued with no lifetime: expired, not malformed.
        "iat == exp": resign(live, claims, iat=now, exp=now),
    }
    live.clock.advance(claims["exp"] - now)
    expired["at its exp"] = token
    for case, expired_token in expired.items():
        response = http.get("/v1/balance", headers=bearer(expired_token))
        assert assert_error(response, 401, "unauthorized_request") == "Access token expired", case


@pytest.mark.parametrize("issuer", ["elsewhere", None], ids=["other", "missing"])
def test_a_token_of_another_issuer_is_invalid(live, http, project, issuer):
    token = resign(live, claims_of(project.access_token(http)), iss=issuer)
    message = assert_error(
        http.get("/v1/balance", headers=bearer(token)), 401, "unauthorized_request"
    )
    assert message == "Invalid access token"


def test_the_reader_remembers_the_last_4096_tokens(live):
    keys = live.context.tokens._keys
    reader = AccessTokenReader(keys)
    now = int(live.clock.timestamp())
    tokens = [sign(keys, "p", f"client-{n}", "hash", now, 60) for n in range(4097)]
    for token in tokens:
        assert reader.read(token).client_id == claims_of(token)["sub"]
    assert len(reader._read) == 4096
    assert tokens[0] not in reader._read and tokens[1] in reader._read


def test_the_reader_decodes_a_token_once(live, monkeypatch):
    keys = live.context.tokens._keys
    reader = AccessTokenReader(keys)
    decoded: list[str] = []
    decode = reader._decode

    def counted(token: str):
        decoded.append(token)
        return decode(token)

    monkeypatch.setattr(reader, "_decode", counted)
    token = sign(keys, "p", "c", "hash", int(live.clock.timestamp()), 60)
    first, again = reader.read(token), reader.read(token)
    assert first == again and first.client_id == "c" and first.project_id == "p"
    assert decoded == [token]


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Missing access token"),
        ({"Authorization": ""}, "Missing access token"),
        (
            {"Authorization": "Basic abc"},
            "Malformed Authorization header, expected 'Bearer <token>'",
        ),
        ({"Authorization": "Bearer"}, "Malformed Authorization header, expected 'Bearer <token>'"),
        ({"Authorization": "Bearer not.a.jwt"}, "Invalid access token"),
    ],
    ids=["none", "empty", "basic", "bearer-alone", "not-a-jwt"],
)
def test_what_is_wrong_with_the_authorization_header_is_said_exactly(http, headers, message):
    response = http.get("/v1/balance", headers=headers)
    assert assert_error(response, 401, "unauthorized_request") == message


# Signing keys


@pytest.fixture
def store(empty_database_url):
    """An empty, migrated store with no server on it."""
    db = Database(empty_database_url)
    with startup_lock(db) as connection:
        upgrade(connection)
    yield db
    db.dispose()


def test_the_generated_signing_key_is_made_once_and_shared_by_every_replica(live, store):
    first = KeyRing(store, live.clock)
    with pytest.raises(RuntimeError, match=r"^the key ring has not been loaded$"):
        first.signing_key()
    first.reload()  # an empty store: still nothing to sign with
    with pytest.raises(RuntimeError, match=r"^the key ring has not been loaded$"):
        first.signing_key()
    first.ensure()
    kid, key = first.signing_key()
    assert re.fullmatch("[0-9a-f]{16}", kid)
    assert len(key) == 64  # 48 random bytes, URL-safe base64: a 384-bit HMAC key
    replica = KeyRing(store, live.clock)
    replica.ensure()
    assert replica.signing_key() == (kid, key)
    with store.read() as session:
        assert session.scalars(select(SigningKey.kid)).all() == [kid]


def test_the_newest_signing_key_signs_and_every_key_verifies(live, store):
    keys = KeyRing(store, live.clock)
    keys.ensure()
    kid, key = keys.signing_key()
    with store.write() as session:
        # Inserted later, but created earlier: creation time decides, not row order.
        session.add(
            SigningKey(
                kid="older", secret="o" * 64, created_at=live.clock.now() - timedelta(days=1)
            )
        )
    keys.reload()
    assert keys.signing_key() == (kid, key)
    assert keys.verification_key("older") == b"o" * 64
    with store.write() as session:
        session.add(
            SigningKey(
                kid="newer", secret="n" * 64, created_at=live.clock.now() + timedelta(days=1)
            )
        )
    keys.reload()
    assert keys.signing_key() == ("newer", b"n" * 64)
    assert keys.verification_key(kid) == key


def test_an_unknown_key_id_reloads_the_keys_at_most_every_five_seconds(live, store, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(signing_module.time, "monotonic", lambda: now[0])
    keys = KeyRing(store, live.clock)
    keys.ensure()
    kid, key = keys.signing_key()
    reloads = [0]
    reload = keys.reload

    def counted() -> None:
        reloads[0] += 1
        reload()

    monkeypatch.setattr(keys, "reload", counted)
    with store.write() as session:  # what another replica may add meanwhile
        session.add(SigningKey(kid="added", secret="a" * 64, created_at=live.clock.now()))
    now[0] += 5
    assert keys.verification_key("added") is None  # loaded just 5 s ago: no query
    assert keys.verification_key(kid) == key
    assert reloads == [0]
    now[0] += 0.001
    assert keys.verification_key(kid) == key  # a known key never needs a reload
    assert reloads == [0]
    assert keys.verification_key("added") == b"a" * 64
    assert reloads == [1]
    assert keys.verification_key("made-up") is None  # just reloaded: no query
    assert reloads == [1]
    now[0] += 5.001
    assert keys.verification_key("made-up") is None
    assert reloads == [2]


def test_a_configured_signing_key_signs_under_its_own_key_id(live, store):
    keys = KeyRing(store, live.clock, "configured-signing-key")
    keys.ensure()
    expected_kid = "cfg-" + hashlib.sha256(b"configured-signing-key").hexdigest()[:16]
    assert keys.signing_key() == (expected_kid, b"configured-signing-key")
    assert keys.verification_key(expected_kid) == b"configured-signing-key"
    assert keys.verification_key("anything-else") is None
    with store.read() as session:  # nothing generated into the store
        assert session.scalars(select(SigningKey.kid)).all() == []


# Secret checks


def _counting_check(monkeypatch, release: threading.Event | None = None) -> list[tuple[str, str]]:
    """Replaces scrypt by a fast stand-in (right when the secret equals the
    stored value), recording each check and the thread it ran on."""
    checks: list[tuple[str, str]] = []

    def check(secret: str, stored: str) -> bool:
        checks.append((secret, threading.current_thread().name))
        if release is not None:
            release.wait(timeout=5)
        return secret == stored

    monkeypatch.setattr(verifier_module, "check_secret", check)
    return checks


def test_recent_forgets_its_least_recently_used_member_first():
    recent = _Recent(2)
    recent.add("a")
    recent.add("b")
    assert "a" in recent  # now the most recently used
    recent.add("c")
    assert "b" not in recent
    assert "a" in recent and "c" in recent
    recent.add("a")  # adding a member again does not grow the set
    recent.add("d")
    assert "c" not in recent and "a" in recent and "d" in recent


def test_the_verifier_remembers_right_and_wrong_pairs_within_its_bound(monkeypatch):
    checks = _counting_check(monkeypatch)

    async def run() -> list[bool]:
        verifier = SecretVerifier(slots=1, queue=0, remember=1)
        try:
            return [
                await verifier.verify("a", "a"),
                await verifier.verify("a", "a"),  # remembered right
                await verifier.verify("x", "a"),
                await verifier.verify("x", "a"),  # remembered wrong
                await verifier.verify("b", "b"),  # pushes ("a", "a") out
                await verifier.verify("a", "a"),
                await verifier.verify("y", "a"),  # pushes ("x", "a") out
                await verifier.verify("x", "a"),
            ]
        finally:
            verifier.close()

    assert asyncio.run(run()) == [True, True, False, False, True, True, False, False]
    assert [secret for secret, _ in checks] == ["a", "x", "b", "a", "y", "x"]


def test_the_verifier_remembers_the_last_4096_pairs_by_default(monkeypatch):
    checks = _counting_check(monkeypatch)

    async def run() -> None:
        verifier = SecretVerifier()
        try:
            for n in range(4097):
                assert await verifier.verify(str(n), str(n)) is True
            assert await verifier.verify("1", "1") is True  # still remembered
            assert len(checks) == 4097
            assert await verifier.verify("0", "0") is True  # forgotten: checked again
            assert len(checks) == 4098
        finally:
            verifier.close()

    asyncio.run(run())


def test_checks_run_on_the_dedicated_scrypt_threads_only(monkeypatch):
    checks = _counting_check(monkeypatch)

    async def run() -> None:
        verifier = SecretVerifier(slots=2, queue=6, remember=16)
        try:
            pairs = [(str(n), str(n)) for n in range(8)]
            assert await asyncio.gather(*(verifier.verify(*pair) for pair in pairs)) == [True] * 8
        finally:
            verifier.close()

    asyncio.run(run())
    threads = {thread for _, thread in checks}
    assert len(checks) == 8 and 1 <= len(threads) <= 2
    assert all(re.fullmatch(r"scrypt_\d+", thread) for thread in threads), threads


def test_closing_the_verifier_drops_queued_checks_and_does_not_wait(monkeypatch, caplog):
    release = threading.Event()
    started: list[str] = []
    finished: list[str] = []

    def check(secret: str, stored: str) -> bool:
        started.append(secret)
        release.wait(timeout=5)
        finished.append(secret)
        return secret == stored

    monkeypatch.setattr(verifier_module, "check_secret", check)

    async def run() -> None:
        verifier = SecretVerifier(slots=1, queue=1, remember=16)
        running = asyncio.ensure_future(verifier.verify("a", "a"))
        queued = asyncio.ensure_future(verifier.verify("b", "b"))
        while not started:
            await asyncio.sleep(0.001)
        verifier.close()
        assert finished == [], "close() waited for the running check"
        release.set()
        assert await running is True
        with pytest.raises(asyncio.CancelledError):
            await queued
        verifier._executor.shutdown(wait=True)

    with caplog.at_level(logging.DEBUG, logger="asyncio"):
        asyncio.run(run())
    assert started == finished == ["a"]  # the queued one never ran
    # Its bookkeeping handled the cancellation: nothing went to the loop's error log.
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_the_token_request_body_is_documented_as_either_grant(contract):
    operation = contract.document["paths"]["/v1/oauth2/token"]["post"]
    either = {
        "oneOf": [
            {"$ref": "#/components/schemas/GetAccessTokenDto"},
            {"$ref": "#/components/schemas/RefreshAccessTokenPublicApiDto"},
        ]
    }
    assert operation["requestBody"] == {
        "required": True,
        "content": {
            "application/json": {"schema": either},
            "application/x-www-form-urlencoded": {"schema": either},
        },
    }
    schemas = contract.document["components"]["schemas"]
    assert {"GetAccessTokenDto", "RefreshAccessTokenPublicApiDto"} <= set(schemas)
