"""Fault rules and forced outcomes, through the control API and the public one.

One server of its own per backend (fault rules are server-wide; every test
deletes them all when it ends), with a small known catalog: FIN-01 has one
on-demand and one spot unit of TYPE, so capacity shows exactly.
"""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import checked_client, postgres_database
from tests.support.cli import admin_cli
from tests.support.live import (
    ADMIN_TOKEN,
    TLS,
    Credentials,
    FreshToken,
    LiveServer,
    start_live_server,
)
from tests.support.openapi import ContractChecker
from tests.test_errors import assert_error
from tests.test_instances import BOOT, act, deploy_body
from verda_server.catalog.source import load_source
from verda_server.config import sqlite_url
from verda_server.control import fault_middleware

TYPE = "CPU.4V.16G"
LOCATION = "FIN-01"
FAULT = "x-verda-fault"


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp_path = tmp_path_factory.mktemp("faults")
    data = load_source().model_dump(mode="json")
    data["capacity"][LOCATION] = {"instances": {TYPE: {"on_demand": 1, "spot": 1}}}
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data))
    with contextlib.ExitStack() as stack:
        if database_url.startswith("sqlite"):
            url = sqlite_url(tmp_path)
        else:
            url = stack.enter_context(postgres_database())
        yield stack.enter_context(start_live_server(url, catalog_path=path))


def _contract(server: LiveServer, path: str) -> ContractChecker:
    with httpx.Client(verify=TLS, base_url=server.base_url) as client:
        return ContractChecker(client.get(path).json())


@pytest.fixture(scope="module")
def public_contract(server: LiveServer) -> ContractChecker:
    return _contract(server, "/v1/openapi.json")


@pytest.fixture
def admin(server: LiveServer) -> Iterator[httpx.Client]:
    """The control API; every rule is gone when the test ends."""
    contract = _contract(server, "/_admin/v1/openapi.json")
    with checked_client(server.base_url, contract, ADMIN_TOKEN) as client:
        yield client
        assert client.delete("/_admin/v1/faults").status_code == 204
        assert client.get("/_admin/v1/faults").json() == []


@pytest.fixture
def client_of(
    server: LiveServer, public_contract: ContractChecker
) -> Iterator[Callable[[Credentials], httpx.Client]]:
    """Clients whose tokens outlive the clock moves of these tests."""
    anonymous = httpx.Client(verify=TLS, base_url=server.base_url)
    made: list[httpx.Client] = [anonymous]

    def make(credentials: Credentials) -> httpx.Client:
        made.append(checked_client(server.base_url, public_contract))
        made[-1].auth = FreshToken(server, anonymous, credentials)
        return made[-1]

    yield make
    for client in made:
        client.close()


@pytest.fixture
def project(server: LiveServer) -> Credentials:
    return server.new_project()


@pytest.fixture
def client(client_of, project) -> httpx.Client:
    return client_of(project)


@pytest.fixture
def fleet(client: httpx.Client) -> Iterator[list[str]]:
    """Instance ids to give back at the end: the capacity is one unit."""
    ids: list[str] = []
    yield ids
    live = {i["id"]: i["status"] for i in client.get("/v1/instances").json()}
    for instance_id, status in live.items():
        action = "delete_stuck" if status == "provisioning" else "delete"
        assert act(client, action, instance_id).status_code == 202


def add_rule(admin: httpx.Client, **rule: Any) -> dict[str, Any]:
    response = admin.post("/_admin/v1/faults", json=rule)
    assert response.status_code == 201, response.text
    return dict(response.json())


def rule_of(admin: httpx.Client, rule_id: str) -> dict[str, Any]:
    response = admin.get(f"/_admin/v1/faults/{rule_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def injected(response: httpx.Response) -> str | None:
    """The rule id of an injected answer, None for the real one."""
    return response.headers.get(FAULT)


def balance(client: httpx.Client) -> Decimal:
    response = client.get("/v1/balance")
    assert response.status_code == 200, response.text
    return Decimal(str(json.loads(response.text, parse_float=Decimal)["amount"]))


# ---- rules: counting ----------------------------------------------------------


def test_a_rule_for_the_next_two_calls_fires_exactly_twice(admin, server, client):
    rule = add_rule(admin, method="GET", path="/v1/balance", status=503, times=2)
    assert (rule["code"], rule["fired"], rule["remaining"], rule["spent"]) == (
        "service_unavailable",
        0,
        2,
        False,
    )
    answers = [client.get("/v1/balance") for _ in range(4)]
    assert [a.status_code for a in answers] == [503, 503, 200, 200]
    for answer in answers[:2]:
        assert injected(answer) == rule["id"]
        assert assert_error(answer, 503, "service_unavailable") == rule["message"]
    assert [injected(a) for a in answers[2:]] == [None, None]
    spent = rule_of(admin, rule["id"])
    assert (spent["fired"], spent["remaining"], spent["spent"], spent["matched"]) == (2, 0, True, 2)
    # A spent rule stays listed, for its counts.
    assert [r["id"] for r in admin.get("/_admin/v1/faults").json()] == [rule["id"]]
    assert injected_metric(server, rule["id"]) == 2


def injected_metric(server: LiveServer, rule_id: str) -> float:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(verify=TLS, base_url=server.base_url, headers=headers) as http:
        text = http.get("/metrics").text
    line = f'verda_faults_injected_total{{rule="{rule_id}"}} '
    found = [row for row in text.splitlines() if row.startswith(line)]
    return float(found[0].removeprefix(line)) if found else 0.0


def test_probability_zero_never_and_one_always(admin, client):
    never = add_rule(admin, method="GET", path="/v1/balance", status=500, probability=0)
    assert all(client.get("/v1/balance").status_code == 200 for _ in range(5))
    always = add_rule(admin, method="GET", path="/v1/balance", status=500, probability=1)
    answers = [client.get("/v1/balance") for _ in range(5)]
    assert {(a.status_code, injected(a)) for a in answers} == {(500, always["id"])}
    assert {r["code"] for r in map(httpx.Response.json, answers)} == {"server_error"}
    counts = {r["id"]: (r["matched"], r["fired"]) for r in admin.get("/_admin/v1/faults").json()}
    # Consulted in creation order: the never-firing one saw all ten calls.
    assert counts == {never["id"]: (10, 0), always["id"]: (5, 5)}


def expected_draws(seed: int, calls: int, probability: float) -> list[bool]:
    """The documented draw: the n-th matching call fires when a Random seeded
    with "<seed>:<n>" gives less than the probability."""
    return [random.Random(f"{seed}:{n}").random() < probability for n in range(calls)]


def test_a_seeded_probability_replays_the_same_sequence(admin, client):
    seed, calls = 1234, 16
    expected = expected_draws(seed, calls, 0.5)
    assert 0 < sum(expected) < calls  # a sequence worth checking
    for _ in range(2):  # once, then again with a new rule of the same seed
        rule = add_rule(
            admin, method="GET", path="/v1/balance", status=503, probability=0.5, seed=seed
        )
        seen = [injected(client.get("/v1/balance")) == rule["id"] for _ in range(calls)]
        assert seen == expected
        assert rule_of(admin, rule["id"])["fired"] == sum(expected)
        assert admin.delete(f"/_admin/v1/faults/{rule['id']}").status_code == 204


def test_times_and_probability_together(admin, client):
    seed = 99
    rule = add_rule(
        admin, method="*", path="/v1/balance", code="conflict", times=3, probability=0.5, seed=seed
    )
    assert rule["status"] == 409
    draws = expected_draws(seed, 40, 0.5)
    last = [n for n, fires in enumerate(draws) if fires][2]  # the third firing
    seen = [injected(client.get("/v1/balance")) == rule["id"] for _ in range(last + 3)]
    assert seen == [*draws[: last + 1], False, False]
    assert rule_of(admin, rule["id"])["matched"] == last + 1


# ---- rules: matching ----------------------------------------------------------


def test_method_path_and_project_matching(admin, client_of, server, client, project):
    other = client_of(server.new_project())
    by_method = add_rule(admin, method="POST", path="/v1/ssh-keys", status=500)
    by_glob = add_rule(admin, path="/v1/instances/*", code="not_found", message="gone")
    by_project = add_rule(admin, path="/v1/volumes*", project_id=project.project_id, status=503)
    # The method: GET of the same path is the real one.
    assert injected(client.get("/v1/ssh-keys")) is None
    assert injected(client.post("/v1/ssh-keys", json={})) == by_method["id"]
    # The glob: the whole path, query string left out; `*` spans segments.
    assert injected(client.get("/v1/instances")) is None
    some_id = "00000000-0000-4000-8000-000000000000"
    answer = client.get(f"/v1/instances/{some_id}", params={"x": "1"})
    assert (injected(answer), answer.json()["message"]) == (by_glob["id"], "gone")
    assert injected(client.get(f"/v1/instances/{some_id}/tags/x")) == by_glob["id"]
    # The project: another project's token, or none at all, is not it.
    assert injected(client.get("/v1/volumes/trash")) == by_project["id"]
    assert injected(other.get("/v1/volumes/trash")) is None
    with httpx.Client(verify=TLS, base_url=server.base_url) as anonymous:
        assert injected(anonymous.get("/v1/volumes")) is None
        bogus = anonymous.get("/v1/volumes", headers={"Authorization": "Bearer nonsense"})
        assert (bogus.status_code, injected(bogus)) == (401, None)
    assert rule_of(admin, by_project["id"])["fired"] == 1


def test_the_control_api_is_never_faulted(admin, client):
    assert client.get("/v1/balance").status_code == 200  # its token, before the rule
    rule = add_rule(admin, path="*", status=500)
    assert injected(client.get("/v1/balance")) == rule["id"]
    assert admin.get("/_admin/v1/clock").status_code == 200
    assert admin.get("/_admin/v1/faults").status_code == 200
    assert admin.get("/_admin/v1/openapi.json").status_code == 200
    assert rule_of(admin, rule["id"])["matched"] == 1


def test_latency_delays_the_real_answer(admin, server, client, monkeypatch):
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(fault_middleware, "sleep", sleep)
    rule = add_rule(admin, method="GET", path="/v1/balance", latency_ms=250, times=1)
    assert rule["status"] is None and rule["code"] is None
    first, second = client.get("/v1/balance"), client.get("/v1/balance")
    assert (first.status_code, injected(first)) == (200, None)
    assert first.json() == second.json()  # the real answer, both times
    assert slept == [0.25]
    assert rule_of(admin, rule["id"])["fired"] == 1
    assert injected_metric(server, rule["id"]) == 1  # a delay is a fault injected too
    # Latency and an error: delayed, then answered.
    both = add_rule(admin, method="GET", path="/v1/balance", latency_ms=10, status=503)
    assert injected(client.get("/v1/balance")) == both["id"]
    assert slept == [0.25, 0.01]


def test_an_injected_error_leaves_nothing_behind(admin, client, server):
    before = balance(client)
    rule = add_rule(admin, method="POST", path="/v1/instances", status=503, times=1)
    body = deploy_body(volumes=[{"name": "data", "size": 10, "type": "HDD"}])
    answer = client.post("/v1/instances", json=body)
    assert assert_error(answer, 503, "service_unavailable")
    assert injected(answer) == rule["id"]
    assert client.get("/v1/instances").json() == []
    assert client.get("/v1/volumes").json() == []
    assert balance(client) == before
    assert _available(client, spot=False)


def test_the_sdk_sees_an_injected_error_as_the_service_s(admin, server, project):
    from verda import VerdaClient
    from verda.exceptions import APIException

    sdk = VerdaClient(project.client_id, project.client_secret, base_url=server.api_url)
    add_rule(admin, method="GET", path="/v1/balance", status=503, message="Down for a bit")
    with pytest.raises(APIException) as raised:
        sdk.balance.get()
    assert (raised.value.code, raised.value.message) == ("service_unavailable", "Down for a bit")


# ---- rules: the control API ---------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"path": "/v1/balance", "status": 418}, "status: one of 400, 401"),
        ({"path": "/v1/balance", "status": 200}, "status: one of"),
        ({"path": "/v1/balance", "status": 404, "code": "conflict"}, "is answered with 409"),
        ({"path": "/v1/balance"}, "give a status or code"),
        ({"path": "/v1/balance", "latency_ms": 0}, "give a status or code"),
        ({"path": "/v1/balance", "message": "x", "latency_ms": 5}, "message:"),
        ({"path": "v1/balance", "status": 500}, "path: String should match pattern '^[/*]'"),
        ({"path": "/v1/balance", "status": 500, "method": "FETCH"}, "method: one of"),
        ({"path": "/v1/balance", "status": 500, "probability": 1.5}, "probability"),
        ({"path": "/v1/balance", "status": 500, "times": 0}, "times"),
        ({"path": "/v1/balance", "code": "teapot"}, "code"),
        ({"path": "/v1/balance", "latency_ms": 600_001}, "latency_ms"),
        (
            {"path": "/v1/balance", "status": 500, "project_id": "00000000-0000-4000-8000-0"},
            "project_id: no project",
        ),
        (
            {
                "path": "/v1/balance",
                "status": 500,
                "project_id": "00000000-0000-4000-8000-000000000000",
            },
            "project_id: no project",
        ),
    ],
)
def test_bad_rules_are_refused(admin, rule, message):
    response = admin.post("/_admin/v1/faults", json=rule)
    assert message in assert_error(response, 400, "invalid_request")
    assert admin.get("/_admin/v1/faults").json() == []


def test_rules_are_listed_read_and_deleted(admin, server, project):
    first = add_rule(admin, method="get", path="/v1/a*", status=401)
    second = add_rule(admin, path="/v1/b", latency_ms=5, project_id=project.project_id.upper())
    assert first["method"] == "GET"
    assert first["message"] == "Unauthorized" and first["code"] == "unauthorized_request"
    assert second["project_id"] == project.project_id
    assert (second["method"], second["times"], second["remaining"]) == ("*", None, None)
    assert second["created_at"].endswith("Z")
    listed = admin.get("/_admin/v1/faults").json()
    assert listed == [first, second]
    assert rule_of(admin, second["id"]) == second
    assert admin.delete(f"/_admin/v1/faults/{first['id']}").status_code == 204
    assert_error(admin.get(f"/_admin/v1/faults/{first['id']}"), 404, "not_found")
    assert_error(admin.delete(f"/_admin/v1/faults/{first['id']}"), 404, "not_found")
    assert admin.get("/_admin/v1/faults").json() == [second]
    assert admin.delete("/_admin/v1/faults").status_code == 204
    assert admin.get("/_admin/v1/faults").json() == []


def test_rules_are_in_the_store(admin, server, client):
    """A restart (or another replica) finds them, counters included."""
    rule = add_rule(admin, path="/v1/balance", status=503, times=3)
    client.get("/v1/balance")
    from verda_server.control.faults import NAME
    from verda_server.control.shared import read_value

    with server.context.db.read() as session:
        stored = read_value(session, NAME)["rules"]
    assert [(r["id"], r["fired"], r["times"]) for r in stored] == [(rule["id"], 1, 3)]


# ---- forced outcomes ----------------------------------------------------------


def _available(client: httpx.Client, spot: bool) -> bool:
    response = client.get(
        f"/v1/instance-availability/{TYPE}",
        params={"location_code": LOCATION, "is_spot": str(spot).lower()},
    )
    assert response.status_code == 200, response.text
    return bool(response.json())


def _deploy(client: httpx.Client, fleet: list[str], **fields: Any) -> str:
    response = client.post("/v1/instances", json=deploy_body(location_code=LOCATION, **fields))
    assert response.status_code == 202, response.text
    fleet.append(response.text)
    return response.text


def force(admin: httpx.Client, instance_id: str, status: str) -> httpx.Response:
    return admin.post(f"/_admin/v1/instances/{instance_id}/force", json={"status": status})


def _instance(client: httpx.Client, instance_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/instances/{instance_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.mark.parametrize("outcome", ["no_capacity", "installation_failed"])
def test_a_failed_deploy_gives_back_capacity_and_stops_costing(
    admin, server, client, fleet, outcome
):
    instance_id = _deploy(client, fleet)
    assert not _available(client, spot=False)
    answer = force(admin, instance_id, outcome)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["id"], answer.json()["status"]) == (instance_id, outcome)
    seen = _instance(client, instance_id)
    assert (seen["status"], seen["ip"]) == (outcome, None)
    assert [i["id"] for i in client.get("/v1/instances", params={"status": outcome}).json()] == [
        instance_id
    ]
    assert _available(client, spot=False)
    # It never moves on by itself, and costs nothing more (its OS volume does).
    os_volume = seen["os_volume_id"]
    assert client.get(f"/v1/volumes/{os_volume}").json()["status"] == "attached"
    server.clock.advance(3600)
    assert _instance(client, instance_id)["status"] == outcome
    charged = balance(client)
    server.clock.advance(3600)
    volume_hour = charged - balance(client)
    server.clock.advance(3600)
    assert charged - balance(client) == 2 * volume_hour
    # Forcing it again changes nothing; nothing else is left to force.
    assert force(admin, instance_id, outcome).json()["status"] == outcome
    article = "an" if outcome == "installation_failed" else "a"
    message = assert_error(force(admin, instance_id, "error"), 409, "conflict")
    assert message == (
        f"Can't force error on {article} {outcome} instance "
        "(only from offline, provisioning, running)"
    )
    # The public API: only deleting is left.
    for action in ("boot", "start", "shutdown", "force_shutdown", "hibernate"):
        refused = act(client, action, instance_id)
        message = assert_error(refused, 403, "forbidden_action")
        assert message == f"Can't {action} {article} {outcome} instance"
    assert act(client, "delete", instance_id).status_code == 202
    assert _instance(client, instance_id)["status"] == "discontinued"
    assert client.get(f"/v1/volumes/{os_volume}").json()["status"] == "deleted"


def test_error_keeps_the_machine_and_its_price(admin, server, client, fleet):
    instance_id = _deploy(client, fleet)
    server.clock.advance(BOOT)
    ip = _instance(client, instance_id)["ip"]
    assert force(admin, instance_id, "error").json()["status"] == "error"
    seen = _instance(client, instance_id)
    assert (seen["status"], seen["ip"]) == ("error", ip)
    assert not _available(client, spot=False)
    first = balance(client)
    server.clock.advance(3600)
    price = Decimal(str(seen["price_per_hour"]))
    assert first - balance(client) > price * Decimal("0.99")
    assert_error(act(client, "boot", instance_id), 403, "forbidden_action")
    assert act(client, "force_shutdown", instance_id).status_code == 202
    assert _instance(client, instance_id)["status"] == "offline"
    # From offline it can break again; then delete gives the capacity back.
    assert force(admin, instance_id, "error").json()["status"] == "error"
    assert act(client, "delete", instance_id).status_code == 202
    assert _available(client, spot=False)


def test_forcing_what_the_status_does_not_lead_to_is_refused(admin, server, client, fleet):
    instance_id = _deploy(client, fleet)
    server.clock.advance(BOOT)
    for outcome in ("no_capacity", "installation_failed"):
        message = assert_error(force(admin, instance_id, outcome), 409, "conflict")
        assert message == f"Can't force {outcome} on a running instance (only from provisioning)"
    assert _instance(client, instance_id)["status"] == "running"
    assert act(client, "delete", instance_id).status_code == 202
    message = assert_error(force(admin, instance_id, "error"), 409, "conflict")
    assert message.startswith("Can't force error on a discontinued instance")
    missing = "00000000-0000-4000-8000-000000000000"
    assert_error(force(admin, missing, "error"), 404, "not_found")
    assert_error(force(admin, "not-an-id", "error"), 404, "not_found")
    response = admin.post(f"/_admin/v1/instances/{instance_id}/force", json={"status": "running"})
    assert_error(response, 400, "invalid_request")


def test_evict_a_spot_instance_now(admin, server, client, fleet):
    volumes = [
        {"name": "kept", "size": 10, "type": "HDD"},
        {"name": "trashed", "size": 10, "type": "HDD"},
    ]
    instance_id = _deploy(client, fleet, is_spot=True, volumes=volumes)
    server.clock.advance(BOOT)
    assert not _available(client, spot=True)
    names = {
        client.get(f"/v1/volumes/{v}").json()["name"]: v
        for v in _instance(client, instance_id)["volume_ids"]
    }
    configured = act(client, "configure_spot", instance_id, volume_ids=[names["trashed"]])
    assert configured.status_code == 202, configured.text
    policies = {
        v: client.get(f"/v1/volumes/{v}").json()["on_spot_discontinue"] for v in names.values()
    }
    answer = admin.post(f"/_admin/v1/instances/{instance_id}/evict")
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "discontinued"
    assert _instance(client, instance_id)["status"] == "discontinued"
    assert client.get("/v1/instances").json() == []
    assert _available(client, spot=True)
    assert sorted(policies.values()) == ["keep_detached", "keep_detached", "move_to_trash"]
    after = {v: client.get(f"/v1/volumes/{v}").json() for v in policies}
    expected = {"keep_detached": ("detached", False), "move_to_trash": ("deleted", False)}
    assert {v: (a["status"], a.get("is_permanently_deleted", False)) for v, a in after.items()} == {
        v: expected[policy] for v, policy in policies.items()
    }
    trash = {v["id"] for v in client.get("/v1/volumes/trash").json()}
    assert trash == {v for v, policy in policies.items() if policy == "move_to_trash"}
    again = admin.post(f"/_admin/v1/instances/{instance_id}/evict")
    assert assert_error(again, 409, "conflict") == f"Instance {instance_id} is already discontinued"


def test_evict_refuses_an_on_demand_instance(admin, server, client, fleet):
    instance_id = _deploy(client, fleet)
    answer = admin.post(f"/_admin/v1/instances/{instance_id}/evict")
    assert assert_error(answer, 400, "invalid_request") == (
        f"Instance {instance_id} is not a spot instance"
    )
    assert _instance(client, instance_id)["status"] == "provisioning"
    missing = admin.post("/_admin/v1/instances/00000000-0000-4000-8000-000000000000/evict")
    assert_error(missing, 404, "not_found")


# ---- verda-server admin -------------------------------------------------------


def test_admin_cli_manages_rules(admin, server, client):
    added = admin_cli(
        server, "--json", "faults", "add", "/v1/balance", "--method", "GET", "--status", "503",
        "--times", "1", "--message", "Down",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    rule = json.loads(added.output)
    assert (rule["code"], rule["message"], rule["times"]) == ("service_unavailable", "Down", 1)
    assert injected(client.get("/v1/balance")) == rule["id"]
    listed = admin_cli(server, "faults")
    assert listed.exit_code == 0, listed.output
    header, row = listed.output.splitlines()
    assert header.split()[:4] == ["id", "method", "path", "project_id"]
    assert row.split()[:7] == [
        rule["id"],
        "GET",
        "/v1/balance",
        "-",
        "503",
        "service_unavailable",
        "0",
    ]
    assert row.split()[-3:] == ["1", "0", "yes"]  # fired, remaining, spent
    shown = admin_cli(server, "faults", "show", rule["id"])
    assert "fired        1" in shown.output
    assert admin_cli(server, "faults", "delete", rule["id"]).exit_code == 0
    missing = admin_cli(server, "faults", "delete", rule["id"])
    assert (missing.exit_code, missing.output) == (
        1,
        f"error: not_found: No fault rule {rule['id']}\n",
    )
    refused = admin_cli(server, "faults", "add", "/v1/balance")
    assert refused.exit_code == 1
    assert "give a status or code to answer with, or a latency_ms" in refused.output
    admin_cli(server, "faults", "add", "/v1/a", "--latency-ms", "5")
    assert admin_cli(server, "faults", "clear").exit_code == 0
    assert json.loads(admin_cli(server, "--json", "faults").output) == []


def test_admin_cli_forces_and_evicts(admin, server, client, fleet):
    instance_id = _deploy(client, fleet, is_spot=True)
    forced = admin_cli(server, "--json", "instances", "force", instance_id, "installation_failed")
    assert forced.exit_code == 0, forced.output
    assert json.loads(forced.output)["status"] == "installation_failed"
    assert _instance(client, instance_id)["status"] == "installation_failed"
    wrong = admin_cli(server, "instances", "force", instance_id, "running")
    assert wrong.exit_code == 2
    evicted = admin_cli(server, "instances", "evict", instance_id)
    assert evicted.exit_code == 0, evicted.output
    shown = dict(line.split(maxsplit=1) for line in evicted.output.splitlines())
    assert (shown["id"], shown["status"]) == (instance_id, "discontinued")
    again = admin_cli(server, "instances", "evict", instance_id)
    assert (again.exit_code, again.output) == (
        1,
        f"error: conflict: Instance {instance_id} is already discontinued\n",
    )
