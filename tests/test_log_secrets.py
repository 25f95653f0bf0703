"""No secret, token or key ever reaches a log line, even at DEBUG.

The server runs as users run it (`verda-server serve --log-level debug`), through
a realistic flow: both grants in JSON and form bodies, refreshes, a reused
refresh token, wrong secrets, bad tokens, secrets in query strings, deploys,
the control API and /metrics. Then everything it wrote is searched for every
credential and token it saw.
"""

from __future__ import annotations

import base64
import json
import logging

import httpx

from tests.support.keys import ed25519_key
from tests.support.live import TLS, start_live_server
from tests.support.logs import CapturedLog
from tests.support.process import run_server

CLIENT_ID = "log-client"
SECRET = "s3cr3t-client-value-0123456789"
WRONG = "wr0ng-client-value-9876543210"
ADMIN = "vsa_admin-token-value-abcdef"
SIGNING_KEY = "signing-key-value-0123456789abcdef0123"
GARBAGE = "garbage-bearer-value-xyz123456"
DEPLOY = {
    "instance_type": "CPU.4V.16G",
    "image": "ubuntu-24.04",
    "hostname": "h",
    "description": "",
    "location_code": "FIN-01",
}

SERVERLESS_VALUES = [
    "secret-env-value-0123456789",
    base64.b64encode(b"file-secret-content-0123456789").decode(),
    "registry-access-token-0123456789",
]
SERVERLESS = (
    ("/v1/secrets", {"name": "env", "value": SERVERLESS_VALUES[0]}),
    (
        "/v1/file-secrets",
        {"name": "files", "files": [{"file_name": "a", "base64_content": SERVERLESS_VALUES[1]}]},
    ),
    (
        "/v1/container-registry-credentials",
        {"name": "hub", "type": "dockerhub", "username": "u", "access_token": SERVERLESS_VALUES[2]},
    ),
)


def _grant(http: httpx.Client, form: bool, **fields: str) -> httpx.Response:
    if form:
        return http.post("/v1/oauth2/token", data=fields)
    return http.post("/v1/oauth2/token", json=fields)


def _flow(base_url: str) -> list[str]:
    """Everything secret the flow used or was given."""
    seen = [SECRET, WRONG, ADMIN, SIGNING_KEY, GARBAGE]
    with httpx.Client(verify=TLS, base_url=base_url, timeout=10) as http:
        grants = []
        for form in (False, True):
            response = _grant(
                http,
                form,
                grant_type="client_credentials",
                client_id=CLIENT_ID,
                client_secret=SECRET,
            )
            assert response.status_code == 200, response.text
            grants.append(response.json())
        refreshed = []
        for form, grant in zip((False, True), grants, strict=True):
            response = _grant(
                http, form, grant_type="refresh_token", refresh_token=grant["refresh_token"]
            )
            assert response.status_code == 200, response.text
            refreshed.append(response.json())
        for grant in grants + refreshed:
            seen += [grant["access_token"], grant["refresh_token"]]
            seen.append(grant["access_token"].rsplit(".", 1)[1])  # the signature alone
        # Failures: a wrong secret, a reused refresh token (which ends its family),
        # secrets in a query string and in a malformed body, tokens that are no good.
        for form in (False, True):
            wrong = _grant(
                http,
                form,
                grant_type="client_credentials",
                client_id=CLIENT_ID,
                client_secret=WRONG,
            )
            assert wrong.status_code == 401
        reused = _grant(
            http, False, grant_type="refresh_token", refresh_token=grants[0]["refresh_token"]
        )
        assert reused.status_code == 401
        query = http.post(
            "/v1/oauth2/token",
            params={"client_secret": SECRET, "refresh_token": grants[1]["refresh_token"]},
        )
        assert query.status_code == 400
        malformed = http.post(
            "/v1/oauth2/token",
            content=f'{{"client_secret": "{SECRET}"',
            headers={"Content-Type": "application/json"},
        )
        assert malformed.status_code == 400
        basic = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
        seen.append(basic)
        for header in (f"Bearer {GARBAGE}", f"Basic {basic}", GARBAGE):
            refused = http.get("/v1/balance", headers={"Authorization": header})
            assert refused.status_code == 401
        # Work done with a good token.
        auth = {"Authorization": f"Bearer {refreshed[1]['access_token']}"}
        key = http.post("/v1/sshkeys", json={"name": "k", "key": ed25519_key()}, headers=auth)
        script = http.post("/v1/scripts", json={"name": "s", "script": "echo"}, headers=auth)
        assert key.status_code == script.status_code == 201
        # Serverless secrets and registry credentials: stored, refused, deleted.
        for path, body in SERVERLESS:
            assert http.post(path, json=body, headers=auth).status_code == 201
            assert http.post(path, json=body, headers=auth).status_code == 409
        refused = {"name": "c", "type": "aws-ecr", "secret_access_key": SERVERLESS_VALUES[2]}
        assert http.post(SERVERLESS[2][0], json=refused, headers=auth).status_code == 400
        assert http.delete("/v1/secrets/env", headers=auth).status_code == 200
        seen += SERVERLESS_VALUES
        deploy = {**DEPLOY, "ssh_key_ids": [key.text], "startup_script_id": script.text}
        assert http.post("/v1/instances", json=deploy, headers=auth).status_code == 202
        assert http.get("/v1/instances", headers=auth).status_code == 200
        assert http.get("/v1/balance", headers=auth).status_code == 200
        # The operators' side: the admin token, and a project token where it has no place.
        admin = {"Authorization": f"Bearer {ADMIN}"}
        assert http.get("/_admin/v1/clock", headers=admin).status_code == 200
        assert http.get("/metrics", headers=admin).status_code == 200
        assert http.get("/metrics", headers=auth).status_code == 401
        assert http.get("/_admin/v1/clock", headers=auth).status_code == 401
        assert (
            http.get("/_admin/v1/clock", headers={"Authorization": "Bearer " + SECRET}).status_code
            == 401
        )
    return seen


SERVE = ("--client-id", CLIENT_ID, "--client-secret", SECRET, "--admin-token", ADMIN)


def test_no_secret_reaches_the_logs_of_the_server_at_debug(empty_database_url):
    with run_server(
        "--database-url",
        empty_database_url,
        "--log-level",
        "debug",
        "--log-format",
        "json",
        "--signing-key",
        SIGNING_KEY,
        *SERVE,
    ) as server:
        secrets = _flow(server.base_url)
        assert server.stop() == 0
    for secret in secrets:
        assert secret not in server.text, f"a secret is in the logs: {secret[:6]}…"
    lines = [json.loads(line) for line in server.output if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "verda_server.access"]
    # The logs were really written, at DEBUG, one line per request (uvicorn's none).
    assert sum(1 for line in access if line["route"] == "/v1/oauth2/token") == 9
    assert any(line["level"] == "debug" for line in lines)
    assert "HTTP/1.1" not in server.text


def test_no_secret_reaches_the_logs_with_sql_logging_on(empty_database_url):
    """As if someone turned SQLAlchemy's echo on: statements are logged, never
    their parameters nor the rows they read (keys, secret hashes)."""
    everything = logging.getLogger()
    sql = logging.getLogger("sqlalchemy")
    old_levels = everything.level, sql.level
    handler = CapturedLog()
    # The test's own HTTP client logs what it sends: not the server's logs.
    handler.addFilter(lambda record: not record.name.startswith(("httpx", "httpcore")))
    everything.addHandler(handler)
    everything.setLevel(logging.DEBUG)
    sql.setLevel(logging.DEBUG)
    try:
        with start_live_server(
            empty_database_url,
            client_id=CLIENT_ID,
            client_secret=SECRET,
            admin_token=ADMIN,
        ) as server:
            secrets = _flow(server.base_url)
            # Generated into the store at start (its INSERT), read back (a row).
            _kid, key = server.context.tokens._keys.signing_key()
            secrets.append(key.decode())
    finally:
        everything.removeHandler(handler)
        everything.setLevel(old_levels[0])
        sql.setLevel(old_levels[1])
    text = "\n".join(handler.lines)
    for secret in secrets:
        assert secret not in text, f"a secret is in the logs: {secret[:6]}…"
    loggers = {record["logger"] for record in handler.records}
    assert {"sqlalchemy.engine.Engine", "verda_server.access"} <= loggers
    assert "parameters hidden" in text
