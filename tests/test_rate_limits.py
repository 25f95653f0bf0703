"""Rate limits, as the API document's "Rate Limits" section states them.

Every test starts at the beginning of a window of the frozen server clock, so
that `t` and Retry-After are exact: a window is 60 server seconds from there.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from click.testing import Result

from tests.support import cli
from tests.support.live import TLS, LiveServer, start_live_server
from verda_server import cli as cli_module
from verda_server.app import build
from verda_server.config import Settings
from verda_server.ratelimits.policies import PolicyError, load_policies

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
WINDOW = timedelta(seconds=60)


def policy(project: int = 500, endpoint: int = 60) -> str:
    return f'"project";q={project};w=60, "endpoint";q={endpoint};w=60'


def state(project: int, endpoint: int, t: int) -> str:
    return f'"project";r={project};t={t}, "endpoint";r={endpoint};t={t}'


def window_start(live: LiveServer) -> None:
    """Move the frozen clock to the start of the next window (exactly)."""
    live.clock.advance(-(live.clock.now() - EPOCH) % WINDOW)


def limited(response: httpx.Response) -> tuple[str | None, str | None]:
    return response.headers.get("ratelimit-policy"), response.headers.get("ratelimit")


def assert_refused(response: httpx.Response, retry_after: int) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["code"] == "rate_limit_exceeded"
    assert response.headers["retry-after"] == str(retry_after)


@pytest.fixture
def start(live: LiveServer) -> None:
    window_start(live)


def test_a_success_carries_both_headers_in_the_documents_syntax(live, authed, start):
    response = authed.get("/v1/ssh-keys")
    assert response.status_code == 200
    assert limited(response) == (policy(), state(499, 59, 60))
    live.clock.advance(17)
    assert limited(authed.get("/v1/ssh-keys")) == (policy(), state(498, 58, 43))


def test_the_61st_identical_request_is_refused_but_not_another_path_or_method(authed, start):
    for _ in range(60):
        response = authed.get("/v1/ssh-keys")
        assert response.status_code == 200
    assert limited(response) == (policy(), state(440, 0, 60))
    refused = authed.get("/v1/ssh-keys")
    assert_refused(refused, 60)
    assert "GET /v1/ssh-keys" in refused.json()["message"]
    # The refused request cost the project nothing.
    assert limited(refused) == (policy(), state(440, 0, 60))
    other_path = authed.get("/v1/scripts")
    assert other_path.status_code == 200
    assert limited(other_path) == (policy(), state(439, 59, 60))
    # Another method on the same path has its own budget; a handler's 400 is counted
    # and carries the headers.
    other_method = authed.post("/v1/ssh-keys", json={"name": "k", "key": "not a key"})
    assert other_method.status_code == 400
    assert limited(other_method) == (policy(), state(438, 59, 60))


def test_the_path_is_the_full_path_without_the_query(authed, start):
    first = authed.get(f"/v1/volumes/{uuid.uuid4()}")
    second = authed.get(f"/v1/volumes/{uuid.uuid4()}")
    assert first.status_code == second.status_code == 404
    assert limited(first)[1] == state(499, 59, 60)
    assert limited(second)[1] == state(498, 59, 60)  # another path, another endpoint budget
    with_query = authed.get("/v1/instances", params={"status": "running"})
    without = authed.get("/v1/instances")
    assert limited(with_query)[1] == state(497, 119, 60)
    assert limited(without)[1] == state(496, 118, 60)


def test_the_window_resets_when_the_clock_moves_exactly_at_its_boundary(live, authed, start):
    for _ in range(60):
        assert authed.get("/v1/ssh-keys").status_code == 200
    assert_refused(authed.get("/v1/ssh-keys"), 60)
    live.clock.advance(59)
    one_second_left = authed.get("/v1/ssh-keys")
    assert_refused(one_second_left, 1)
    assert limited(one_second_left) == (policy(), state(440, 0, 1))
    live.clock.advance(1)
    again = authed.get("/v1/ssh-keys")
    assert again.status_code == 200
    assert limited(again) == (policy(), state(499, 59, 60))


def test_the_project_budget_spans_paths(live, authed, project, start):
    live.set_rate_limits(project.project_id, project=5, endpoint=3)
    for expected in (state(4, 2, 60), state(3, 1, 60), state(2, 0, 60)):
        assert limited(authed.get("/v1/ssh-keys")) == (policy(5, 3), expected)
    assert_refused(authed.get("/v1/ssh-keys"), 60)  # the endpoint's limit
    assert limited(authed.get("/v1/scripts")) == (policy(5, 3), state(1, 2, 60))
    assert limited(authed.get("/v1/scripts")) == (policy(5, 3), state(0, 1, 60))
    refused = authed.get("/v1/volumes")
    assert_refused(refused, 60)
    assert "this project" in refused.json()["message"]
    # Refused by the project's limit, the request still used its endpoint budget.
    assert limited(refused) == (policy(5, 3), state(0, 2, 60))
    live.clock.advance(60)
    assert limited(authed.get("/v1/volumes")) == (policy(5, 3), state(4, 2, 60))


def test_the_default_project_budget_is_500_across_paths(authed, start):
    # 500 paths, each new to the endpoint budget: only the project's runs out.
    for n in range(500):
        response = authed.get(f"/v1/ssh-keys/{uuid.UUID(int=n)}")
        assert response.status_code == 404
        assert limited(response) == (policy(), state(499 - n, 59, 60))
    refused = authed.get("/v1/ssh-keys")
    assert_refused(refused, 60)
    assert limited(refused) == (policy(), state(0, 59, 60))


def test_route_policies_override_the_endpoint_limit(live, authed, project, start):
    for _ in range(120):
        response = authed.get("/v1/instances")
        assert response.status_code == 200
    assert limited(response) == (policy(500, 120), state(380, 0, 60))
    refused = authed.get("/v1/instances")
    assert_refused(refused, 60)
    assert limited(refused) == (policy(500, 120), state(380, 0, 60))
    assert limited(authed.get("/v1/volumes")) == (policy(500, 120), state(379, 119, 60))
    # Not a pattern: another path under it has the regular limit.
    assert limited(authed.get("/v1/instances/types"))[0] == policy()
    # A project's own endpoint limit is more specific than a route's.
    live.set_rate_limits(project.project_id, endpoint=7)
    assert limited(authed.get("/v1/volumes"))[0] == policy(500, 7)


def test_handler_errors_carry_the_headers_and_failed_authentication_does_not(
    authed, http, token, start
):
    missing = authed.get(f"/v1/instances/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert limited(missing)[1] == state(499, 59, 60)
    bad_body = authed.post("/v1/scripts", json={"name": 3})
    assert bad_body.status_code == 400
    assert limited(bad_body)[1] == state(498, 59, 60)
    for headers in ({}, {"Authorization": "Bearer nonsense"}):
        refused = http.get("/v1/ssh-keys", headers=headers)
        assert refused.status_code == 401
        assert limited(refused) == (None, None)
    # The balance reads its credential itself: it is counted all the same.
    balance = http.get("/v1/balance", headers={"Authorization": f"Bearer {token}"})
    assert limited(balance) == (policy(), state(497, 59, 60))


def _grant(client_id: str, secret: str) -> dict[str, str]:
    return {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}


def test_token_requests_are_limited_per_client_id_before_the_secret_is_checked(
    live, http, project, monkeypatch, start
):
    verifier = live.context.tokens._verifier
    checked: list[str] = []
    original = verifier.verify

    async def counting(secret: str, stored: str) -> bool:
        checked.append(secret)
        return await original(secret, stored)

    monkeypatch.setattr(verifier, "verify", counting)
    granted = http.post("/v1/oauth2/token", json=_grant(project.client_id, project.client_secret))
    assert granted.status_code == 200
    assert limited(granted) == (policy(), state(499, 59, 60))
    for n in range(59):
        wrong = http.post("/v1/oauth2/token", json=_grant(project.client_id, f"guess-{n}"))
        assert wrong.status_code == 401
    assert limited(wrong) == (policy(), state(440, 0, 60))
    assert len(checked) == 60
    for secret in ("guess-60", project.client_secret):
        refused = http.post("/v1/oauth2/token", json=_grant(project.client_id, secret))
        assert_refused(refused, 60)
        assert "this client id" not in refused.json()["message"]  # the endpoint's limit
        assert limited(refused) == (policy(), state(440, 0, 60))
    assert len(checked) == 60  # no secret was checked once the wall was hit
    # The refresh grant is counted for the client its token was issued to.
    refresh = {"grant_type": "refresh_token", "refresh_token": granted.json()["refresh_token"]}
    assert_refused(http.post("/v1/oauth2/token", json=refresh), 60)
    # Another client id, or a token never issued, has budgets of its own.
    other = live.new_project()
    fresh = http.post("/v1/oauth2/token", json=_grant(other.client_id, other.client_secret))
    assert limited(fresh) == (policy(), state(499, 59, 60))
    unknown = {"grant_type": "refresh_token", "refresh_token": "never-issued"}
    answer = http.post("/v1/oauth2/token", json=unknown)
    assert answer.status_code == 401
    assert limited(answer) == (policy(), state(499, 59, 60))
    live.clock.advance(60)
    renewed = http.post("/v1/oauth2/token", json=refresh)
    assert renewed.status_code == 200
    assert limited(renewed) == (policy(), state(499, 59, 60))


def test_a_token_request_naming_no_client_has_no_headers(http, start):
    response = http.post("/v1/oauth2/token", json={"grant_type": "client_credentials"})
    assert response.status_code == 400
    assert limited(response) == (None, None)


def test_a_project_without_limits_gets_no_headers_and_no_429(live, http, authed, project, start):
    live.set_rate_limits(project.project_id, enabled=False)
    for _ in range(61):
        response = authed.get("/v1/ssh-keys")
        assert response.status_code == 200
        assert limited(response) == (None, None)
    granted = http.post("/v1/oauth2/token", json=_grant(project.client_id, project.client_secret))
    assert limited(granted) == (None, None)
    live.set_rate_limits(project.project_id)  # back to the server's defaults
    assert limited(authed.get("/v1/ssh-keys")) == (policy(), state(499, 59, 60))


def test_limits_off_for_the_whole_server(empty_database_url, contract):
    with start_live_server(empty_database_url, rate_limits=False) as live:
        creds = live.new_project()
        with httpx.Client(verify=TLS, base_url=live.base_url) as http:
            token = creds.access_token(http)
            for _ in range(61):
                response = http.get("/v1/ssh-keys", headers={"Authorization": f"Bearer {token}"})
                contract.verify(response)
                assert response.status_code == 200
                assert limited(response) == (None, None)


def test_a_policy_file_replaces_the_packaged_one(empty_database_url, tmp_path, contract):
    path = tmp_path / "policies.yaml"
    path.write_text("policies:\n  - {method: GET, path: /v1/ssh-keys, limit: 2}\n")
    with start_live_server(empty_database_url, rate_limit_policies_path=path) as live:
        window_start(live)
        creds = live.new_project()
        with httpx.Client(verify=TLS, base_url=live.base_url) as http:
            bearer = {"Authorization": f"Bearer {creds.access_token(http)}"}
            for expected in (state(499, 1, 60), state(498, 0, 60)):
                response = http.get("/v1/ssh-keys", headers=bearer)
                contract.verify(response)
                assert limited(response) == (policy(500, 2), expected)
            assert_refused(http.get("/v1/ssh-keys", headers=bearer), 60)
            # The packaged policies are gone with the file it replaced.
            assert limited(http.get("/v1/instances", headers=bearer))[0] == policy()


def test_the_packaged_policies_are_the_documents():
    assert load_policies() == {("GET", "/v1/instances"): 120, ("GET", "/v1/volumes"): 120}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("policies:\n  - {method: GET, path: /v1/x, limit: 0}\n", "policies.0.limit"),
        ("policies:\n  - {method: GOT, path: /v1/x, limit: 5}\n", "policies.0.method"),
        ("policies:\n  - {method: GET, path: v1/x, limit: 5}\n", "policies.0.path"),
        ("policies:\n  - {method: GET, path: /v1/x, limit: 5, extra: 1}\n", "extra"),
        (
            "policies:\n  - {method: GET, path: /v1/x, limit: 5}\n"
            "  - {method: GET, path: /v1/x, limit: 6}\n",
            "GET /v1/x has more than one policy",
        ),
        ("policies: [\n", "cannot read"),
    ],
)
def test_an_invalid_policy_file_is_refused_with_its_problem(tmp_path, text, expected):
    path = tmp_path / "policies.yaml"
    path.write_text(text)
    with pytest.raises(PolicyError, match="rate-limit policies") as raised:
        load_policies(path)
    assert expected in str(raised.value)
    with pytest.raises(PolicyError):
        build(Settings(database_url=f"sqlite:///{tmp_path}/v.db", rate_limit_policies_path=path))


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--rate-limit-policies", "/nonexistent.yaml"], "cannot read rate-limit policies"),
        (["--redis-url", "http://127.0.0.1:1"], "redis:// or rediss://"),
        (["--redis-url", "redis://:secret@127.0.0.1:1/0"], "cannot reach Redis at"),
        (["--rate-limits", "maybe"], "--rate-limits"),
    ],
)
def test_bad_rate_limit_options_stop_start_up_with_one_error_line(
    tmp_path, args, expected, monkeypatch
):
    # In this process (the real option parsing and start-up); should the start
    # succeed after all, it returns at once instead of serving.
    monkeypatch.setattr(cli_module.GracefulServer, "run", lambda self, sockets=None: None)
    result = cli.invoke("serve", "--data-dir", str(tmp_path), *args)
    # An unexpected exception would be exit code 1 (a traceback, out of process).
    assert result.exit_code == 2, (result.output, result.exception)
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert "secret" not in result.stderr


def _projects_cli(live: LiveServer, *args: str) -> Result:
    """`verda-server projects ARGS` on the running server's store, with a
    store connection of its own (as another process would have)."""
    url = live.context.settings.database_url
    return cli.invoke("projects", *args, "--database-url", url)


def test_operators_set_a_projects_limits_on_a_running_server(live, authed, project, start):
    done = _projects_cli(live, "set-rate-limits", project.project_id, "--project", "9")
    assert done.exit_code == 0, done.output
    assert "9 requests per project" in done.stdout
    assert limited(authed.get("/v1/ssh-keys")) == (policy(9, 60), state(8, 59, 60))
    assert _projects_cli(live, "set-rate-limits", project.project_id, "--off").exit_code == 0
    assert limited(authed.get("/v1/ssh-keys")) == (None, None)
    assert _projects_cli(live, "set-rate-limits", project.project_id).exit_code == 0
    assert limited(authed.get("/v1/ssh-keys")) == (policy(), state(498, 58, 60))
    missing = _projects_cli(live, "set-rate-limits", str(uuid.uuid4()))
    assert missing.exit_code == 1 and "not found" in missing.stderr


def test_the_document_shows_the_headers_and_the_429_on_every_limited_operation(contract):
    document = contract.document
    names = {"RateLimit-Policy", "RateLimit", "Retry-After"}
    assert set(document["components"]["headers"]) == names
    limited_ops = 0
    for path, item in document["paths"].items():
        for method, op in item.items():
            token = (path, method) == ("/v1/oauth2/token", "post")
            if not (op.get("security") or token):
                assert "429" not in op["responses"], f"{method} {path}"
                continue
            limited_ops += 1
            too_many = op["responses"]["429"]
            assert set(too_many["headers"]) == {
                "Retry-After",
                "RateLimit-Policy",
                "RateLimit",
                "X-Request-Id",
            }
            for status, response in op["responses"].items():
                counted = status != "401" or token
                headers = set(response.get("headers", {}))
                assert {"RateLimit-Policy", "RateLimit"} <= headers or not counted, (
                    f"{method} {path} {status}"
                )
    assert limited_ops >= 50
