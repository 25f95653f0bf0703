"""The control API's lifecycle timing: profiles and per-transition overrides,
switched at run time, each checked to the tick on what is scheduled next."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import checked_client
from tests.support.cli import admin_cli
from tests.support.clusters import cluster_body
from tests.support.live import ADMIN_TOKEN, LiveServer, start_live_server
from tests.support.own import own_server
from tests.test_instances import deploy
from verda_server.config import Lifecycle

TICK = 0.001
PATH = "/_admin/v1/lifecycle"
FAST = {
    "provisioning_seconds": 3.0,
    "cluster_provisioning_seconds": 10.0,
    "clone_seconds": 5.0,
    "trash_seconds": 345600.0,
    "serverless_ready_seconds": 3.0,
    "serverless_inference_seconds": 1.0,
}
REALISTIC = {
    "provisioning_seconds": 180.0,
    "cluster_provisioning_seconds": 480.0,
    "clone_seconds": 300.0,
    "trash_seconds": 345600.0,
    "serverless_ready_seconds": 60.0,
    "serverless_inference_seconds": 2.0,
}
INSTANT = {
    **FAST,
    "provisioning_seconds": 0.0,
    "cluster_provisioning_seconds": 0.0,
    "clone_seconds": 0.0,
    "serverless_ready_seconds": 0.0,
    "serverless_inference_seconds": 0.0,
}


@pytest.fixture(scope="module")
def own(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Profiles are server-wide: a server of this module's own."""
    with own_server(database_url, tmp_path_factory) as server:
        yield server


@pytest.fixture
def admin(own: LiveServer, admin_contract: Any) -> Iterator[httpx.Client]:
    with checked_client(own.base_url, admin_contract, ADMIN_TOKEN) as client:
        yield client
        # Back to the default for the next test.
        restored = client.put(PATH, json={"profile": "fast", "overrides": None})
        assert restored.status_code == 200, restored.text


@pytest.fixture
def user(own: LiveServer, contract: Any) -> Iterator[httpx.Client]:
    """A checked client of a new project of the module's server."""
    with checked_client(own.base_url, contract) as client:
        client.headers["Authorization"] = f"Bearer {own.new_project().access_token(client)}"
        yield client


def _status(client: httpx.Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


def provisions_for(own: LiveServer, user: httpx.Client, seconds: float) -> None:
    """A new instance reads provisioning until exactly `seconds` have passed."""
    path = f"/v1/instances/{deploy(user)}"
    if seconds > 0:
        own.clock.advance(seconds - TICK)
        assert _status(user, path) == "provisioning"
        own.clock.advance(TICK)
    assert _status(user, path) == "running"


def test_the_default_is_fast_with_no_overrides(admin: httpx.Client) -> None:
    body = admin.get(PATH).json()
    assert body["profile"] == "fast"
    assert body["durations"] == FAST
    assert body["overrides"] == {}
    assert body["profiles"] == {"instant": INSTANT, "fast": FAST, "realistic": REALISTIC}


@pytest.mark.parametrize(("profile", "durations"), [("realistic", REALISTIC), ("instant", INSTANT)])
def test_a_profile_times_the_next_deploy_exactly(
    own: LiveServer, admin: httpx.Client, user: httpx.Client, profile: str, durations: Any
) -> None:
    body = admin.put(PATH, json={"profile": profile}).json()
    assert (body["profile"], body["durations"], body["overrides"]) == (profile, durations, {})
    assert admin.get(PATH).json() == body
    provisions_for(own, user, durations["provisioning_seconds"])
    admin.put(PATH, json={"profile": "fast"})
    provisions_for(own, user, 3)


def test_an_override_wins_over_every_profile_until_dropped(
    own: LiveServer, admin: httpx.Client, user: httpx.Client
) -> None:
    body = admin.put(PATH, json={"overrides": {"provisioning_seconds": 1.5}}).json()
    assert body["profile"] == "fast"
    assert body["overrides"] == {"provisioning_seconds": 1.5}
    assert body["durations"] == {**FAST, "provisioning_seconds": 1.5}
    provisions_for(own, user, 1.5)
    # Switching profile keeps the override; the rest are the new profile's.
    body = admin.put(PATH, json={"profile": "realistic"}).json()
    assert body["durations"] == {**REALISTIC, "provisioning_seconds": 1.5}
    provisions_for(own, user, 1.5)
    # Overrides merge: another one joins, null drops one.
    body = admin.put(PATH, json={"overrides": {"clone_seconds": 7}}).json()
    assert body["overrides"] == {"provisioning_seconds": 1.5, "clone_seconds": 7}
    body = admin.put(PATH, json={"overrides": {"provisioning_seconds": None}}).json()
    assert body["overrides"] == {"clone_seconds": 7}
    assert body["durations"] == {**REALISTIC, "clone_seconds": 7}
    provisions_for(own, user, 180)
    # `"overrides": null` drops them all.
    assert admin.put(PATH, json={"overrides": None}).json()["overrides"] == {}
    # An empty body changes nothing.
    assert admin.put(PATH, json={}).json()["durations"] == REALISTIC


def test_transitions_already_scheduled_keep_their_instants(
    own: LiveServer, admin: httpx.Client, user: httpx.Client
) -> None:
    early = f"/v1/instances/{deploy(user)}"  # due in 3 s
    admin.put(PATH, json={"profile": "realistic"})
    late = f"/v1/instances/{deploy(user)}"  # due in 180 s
    admin.put(PATH, json={"profile": "instant"})
    own.clock.advance(3 - TICK)
    assert _status(user, early) == "provisioning"
    own.clock.advance(TICK)
    assert _status(user, early) == "running"
    own.clock.advance(177 - TICK)
    assert _status(user, late) == "provisioning"
    own.clock.advance(TICK)
    assert _status(user, late) == "running"


def test_clusters_clones_and_the_trash_follow_their_overrides(
    own: LiveServer, admin: httpx.Client, user: httpx.Client
) -> None:
    overrides = {"cluster_provisioning_seconds": 20, "clone_seconds": 2, "trash_seconds": 60}
    assert admin.put(PATH, json={"overrides": overrides}).json()["overrides"] == overrides
    response = user.post("/v1/clusters", json=cluster_body())
    assert response.status_code == 201, response.text
    cluster = f"/v1/clusters/{response.json()['id']}"
    volume = {"type": "NVMe", "name": "v", "size": 10, "location_code": "FIN-01"}
    source = user.post("/v1/volumes", json=volume).text
    (clone,) = user.put(
        "/v1/volumes", json={"action": "clone", "id": source, "location_code": "ICE-01"}
    ).json()
    trashed = user.post("/v1/volumes", json=volume).text
    assert user.put("/v1/volumes", json={"action": "delete", "id": trashed}).status_code == 202
    own.clock.advance(2 - TICK)
    assert _status(user, f"/v1/volumes/{clone}") == "cloning"
    own.clock.advance(TICK)
    assert _status(user, f"/v1/volumes/{clone}") == "detached"
    own.clock.advance(18 - TICK)
    assert _status(user, cluster) == "provisioning"
    own.clock.advance(TICK)
    assert _status(user, cluster) == "running"
    own.clock.advance(40 - TICK)
    assert user.get(f"/v1/volumes/{trashed}").json()["is_permanently_deleted"] is False
    own.clock.advance(TICK)
    assert user.get(f"/v1/volumes/{trashed}").json()["is_permanently_deleted"] is True
    discontinue = {"action": "discontinue", "id": cluster.rsplit("/", 1)[1]}
    assert user.put("/v1/clusters", json=discontinue).status_code == 202


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"profile": "glacial"}, "unknown profile 'glacial' (known: instant, fast, realistic)"),
        ({"overrides": {"provisioning_second": 1}}, "overrides.provisioning_second"),
        ({"overrides": {"spot_seed": 1}}, "overrides.spot_seed"),
        ({"overrides": {"provisioning_seconds": -1}}, "overrides.provisioning_seconds"),
        ({"overrides": {"clone_seconds": 10**10}}, "overrides.clone_seconds"),
        ({"overrides": {"clone_seconds": "soon"}}, "overrides.clone_seconds"),
        ({"overrides": [1]}, "overrides"),
        ({"profile": 3}, "profile"),
        ({"profiles": "fast"}, "profiles"),
        ([], "body"),
    ],
)
def test_bad_bodies_are_refused_and_change_nothing(
    admin: httpx.Client, body: Any, message: str
) -> None:
    admin.put(PATH, json={"overrides": {"clone_seconds": 9}})
    before = admin.get(PATH).json()
    response = admin.put(PATH, json=body)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert message in response.json()["message"]
    assert admin.get(PATH).json() == before


def test_a_start_names_the_profile_and_a_restart_follows_the_store(
    empty_database_url: str, admin_contract: Any
) -> None:
    starting = Lifecycle(profile="realistic", overrides={"clone_seconds": 1}, sweep_interval=None)
    with (
        start_live_server(empty_database_url, lifecycle=starting) as first,
        checked_client(first.base_url, admin_contract, ADMIN_TOKEN) as admin,
    ):
        body = admin.get(PATH).json()
        assert (body["profile"], body["overrides"]) == ("realistic", {"clone_seconds": 1})
        admin.put(PATH, json={"profile": "instant"})
    # Naming nothing: the stored profile and overrides, as the operator left them.
    with (
        start_live_server(empty_database_url) as second,
        checked_client(second.base_url, admin_contract, ADMIN_TOKEN) as admin,
    ):
        body = admin.get(PATH).json()
        assert (body["profile"], body["overrides"]) == ("instant", {"clone_seconds": 1})
    # Naming overrides alone: over the default profile, for every replica.
    overridden = Lifecycle(overrides={"provisioning_seconds": 4}, sweep_interval=None)
    with (
        start_live_server(empty_database_url, lifecycle=overridden) as third,
        checked_client(third.base_url, admin_contract, ADMIN_TOKEN) as admin,
    ):
        body = admin.get(PATH).json()
        assert (body["profile"], body["overrides"]) == ("fast", {"provisioning_seconds": 4})


def test_every_replica_follows_a_change_on_its_next_request(
    database_url: str, empty_database_url: str, admin_contract: Any, contract: Any
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("replicas share a network store (PostgreSQL)")
    with (
        start_live_server(empty_database_url) as one,
        start_live_server(empty_database_url) as two,
        checked_client(one.base_url, admin_contract, ADMIN_TOKEN) as admin,
        checked_client(two.base_url, contract) as user,
    ):
        user.headers["Authorization"] = f"Bearer {two.new_project().access_token(user)}"
        admin.put(PATH, json={"profile": "realistic", "overrides": {"provisioning_seconds": 42}})
        provisions_for(two, user, 42)
        with checked_client(two.base_url, admin_contract, ADMIN_TOKEN) as other:
            assert other.get(PATH).json() == admin.get(PATH).json()


def test_admin_cli_reads_and_changes_the_lifecycle(own: LiveServer, admin: httpx.Client) -> None:
    shown = admin_cli(own, "lifecycle")
    assert shown.exit_code == 0, shown.output
    assert shown.output.splitlines()[:3] == [
        "profile fast (of instant, fast, realistic)",
        "transition                    seconds   profile's  overridden",
        "provisioning_seconds          3.0       3.0        no",
    ]
    changed = admin_cli(
        own, "--json", "lifecycle", "set", "--profile", "realistic", "--provisioning-seconds", "2"
    )
    assert changed.exit_code == 0, changed.output
    body = json.loads(changed.output)
    assert (body["profile"], body["overrides"]) == ("realistic", {"provisioning_seconds": 2})
    assert admin.get(PATH).json() == body
    more = admin_cli(own, "--json", "lifecycle", "set", "--clone-seconds", "1")
    assert json.loads(more.output)["overrides"] == {"provisioning_seconds": 2, "clone_seconds": 1}
    dropped = admin_cli(own, "--json", "lifecycle", "set", "--drop", "clone_seconds")
    assert json.loads(dropped.output)["overrides"] == {"provisioning_seconds": 2}
    # --drop-all and a new override: one change.
    anew = admin_cli(own, "--json", "lifecycle", "set", "--drop-all", "--trash-seconds", "9")
    assert json.loads(anew.output)["overrides"] == {"trash_seconds": 9}
    shown = admin_cli(own, "lifecycle")
    assert "trash_seconds                 9.0      345600.0   yes\n" in shown.output


def test_admin_cli_says_what_went_wrong_with_the_lifecycle(own: LiveServer) -> None:
    nothing = admin_cli(own, "lifecycle", "set")
    assert (nothing.exit_code, nothing.output) == (
        2,
        "error: give --profile, an override, --drop or --drop-all\n",
    )
    refused = admin_cli(own, "lifecycle", "set", "--profile", "glacial")
    assert refused.exit_code == 1
    assert refused.output.startswith("error: invalid_request: profile: unknown profile 'glacial'")
