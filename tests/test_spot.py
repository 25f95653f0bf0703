"""Spot instances are evicted: by the domain operation itself, and by the server
clock from the catalog's per-location eviction rate, drawn from a seed.

One server of its own per backend, with a small known catalog: FIN-01 has one
spot unit of CPU.4V.16G and never evicts; FIN-02 has one spot and one on-demand
unit and evicts at RATE per instance-hour; FIN-03 keeps the packaged capacity
and never evicts. Each test leaves the capacity as it found it.
"""

from __future__ import annotations

import contextlib
import math
import random
from collections.abc import Callable, Generator, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import postgres_database
from tests.support.live import TLS, Credentials, LiveServer, start_live_server
from tests.test_errors import assert_error
from tests.test_instances import BOOT, act, deploy_body
from verda_server.billing.follow import billed
from verda_server.catalog.source import CatalogError, load_source
from verda_server.clock import isoformat
from verda_server.config import Lifecycle, sqlite_url
from verda_server.instances import eviction
from verda_server.instances.models import Instance

TYPE = "CPU.4V.16G"
SEED = 20260203
RATE = 0.25  # evictions per instance-hour in FIN-02: a mean life of 4 h
MICRO = timedelta(microseconds=1)


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp_path = tmp_path_factory.mktemp("spot")
    data = load_source().model_dump(mode="json")
    data["capacity"]["FIN-01"] = {"instances": {TYPE: {"on_demand": 0, "spot": 1}}}
    data["capacity"]["FIN-02"] = {
        "instances": {TYPE: {"on_demand": 1, "spot": 1}},
        "spot_eviction_rate": RATE,
    }
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data))
    lifecycle = Lifecycle(sweep_interval=None, spot_seed=SEED)
    with contextlib.ExitStack() as stack:
        if database_url.startswith("sqlite"):
            url = sqlite_url(tmp_path)
        else:
            url = stack.enter_context(postgres_database())
        yield stack.enter_context(start_live_server(url, catalog_path=path, lifecycle=lifecycle))


class ServerClockToken(httpx.Auth):
    """A bearer token renewed whenever the server's clock has passed its expiry:
    these tests move that clock by hours."""

    requires_response_body = True

    def __init__(self, server: LiveServer, creds: Credentials) -> None:
        self._server = server
        self._creds = creds
        self._token = ""
        self._expires = datetime.min.replace(tzinfo=self._server.clock.now().tzinfo)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        now = self._server.clock.now()
        if now >= self._expires:
            body = {
                "grant_type": "client_credentials",
                "client_id": self._creds.client_id,
                "client_secret": self._creds.client_secret,
            }
            grant = yield httpx.Request("POST", request.url.join("/v1/oauth2/token"), json=body)
            assert grant.status_code == 200, grant.text
            self._token = grant.json()["access_token"]
            self._expires = now + timedelta(seconds=grant.json()["expires_in"])
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


@pytest.fixture
def client_of(contract, server) -> Iterator[Callable[[], httpx.Client]]:
    """A new project's client on the spot server; responses checked against the document."""
    made: list[httpx.Client] = []

    def make() -> httpx.Client:
        def verify(response: httpx.Response) -> None:
            response.read()
            contract.verify(response)

        made.append(
            httpx.Client(
                verify=TLS,
                base_url=server.base_url,
                timeout=10,
                # Money for the 10 000 hours some tests move the clock by.
                auth=ServerClockToken(server, server.new_project(balance="1000000000")),
                event_hooks={"response": [verify]},
            )
        )
        return made[-1]

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(client_of) -> httpx.Client:
    return client_of()


# ---- helpers --------------------------------------------------------------


def deploy(client: httpx.Client, location: str = "FIN-03", **fields) -> str:
    response = client.post(
        "/v1/instances", json=deploy_body(location_code=location, is_spot=True, **fields)
    )
    assert response.status_code == 202, response.text
    return response.text


def instance(client: httpx.Client, instance_id: str) -> dict:
    response = client.get(f"/v1/instances/{instance_id}")
    assert response.status_code == 200, response.text
    return response.json()


def volume(client: httpx.Client, volume_id: str) -> dict:
    response = client.get(f"/v1/volumes/{volume_id}")
    assert response.status_code == 200, response.text
    return response.json()


def listed(client: httpx.Client, path: str) -> list[str]:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()]


def policies(client: httpx.Client, instance_id: str) -> dict[str, str]:
    """Each attached volume's name and on_spot_discontinue."""
    ids = instance(client, instance_id)["volume_ids"]
    return {volume(client, v)["name"]: volume(client, v)["on_spot_discontinue"] for v in ids}


def named(client: httpx.Client, instance_id: str) -> dict[str, str]:
    """The ids of the instance's volumes by name."""
    return {volume(client, v)["name"]: v for v in instance(client, instance_id)["volume_ids"]}


def running(server: LiveServer, client: httpx.Client, **fields) -> str:
    instance_id = deploy(client, **fields)
    server.clock.advance(BOOT)
    assert instance(client, instance_id)["status"] == "running"
    return instance_id


def evict(server: LiveServer, instance_id: str) -> None:
    """The domain operation, as the clock (or anything else) applies it."""
    ctx = server.context
    with ctx.db.write() as session:
        billed(session, ctx.clock.now(), ctx.catalog)
        row = session.get(Instance, instance_id)
        assert row is not None
        eviction.evict(session, ctx.clock.now(), ctx.lifecycle.current, row)


def available(client: httpx.Client, location: str) -> bool:
    response = client.get(
        f"/v1/instance-availability/{TYPE}", params={"location_code": location, "is_spot": "true"}
    )
    assert response.status_code == 200, response.text
    return bool(response.json())


def expected_eviction(deployed_at: datetime, instance_id: str, rate: float = RATE) -> datetime:
    """The documented draw: an exponential life, in hours, seeded by seed and id."""
    hours = random.Random(f"{SEED}:{instance_id}").expovariate(rate)
    return deployed_at + timedelta(hours=hours)


def advance_to(server: LiveServer, moment: datetime) -> None:
    server.clock.advance(moment - server.clock.now())


VOLUMES = [
    {"name": "kept", "size": 10, "type": "HDD"},
    {"name": "trashed", "size": 10, "type": "HDD", "on_spot_discontinue": "move_to_trash"},
    {"name": "purged", "size": 10, "type": "NVMe", "on_spot_discontinue": "delete_permanently"},
]


# ---- the domain operation -------------------------------------------------


def test_an_evicted_instance_is_discontinued_and_leaves_the_list(server, client):
    instance_id = running(server, client, volumes=VOLUMES[:1])
    before = instance(client, instance_id)
    assert before["ip"] is not None and before["is_spot"] is True
    evict(server, instance_id)
    after = instance(client, instance_id)
    # Its address went back to the pool; read by id it still names its OS disk.
    assert after == before | {"status": "discontinued", "ip": None, "volume_ids": []}
    assert listed(client, "/v1/instances") == []
    assert listed(client, "/v1/instances?status=discontinued") == [instance_id]
    message = assert_error(act(client, "delete", instance_id), 403, "forbidden_action")
    assert message == "Can't discontinue a discontinued instance"


def test_each_volume_follows_its_policy(server, client):
    instance_id = running(server, client, os_volume={"name": "os", "size": 50}, volumes=VOLUMES)
    ids = named(client, instance_id)
    assert policies(client, instance_id) == {
        "os": "keep_detached",
        "kept": "keep_detached",
        "trashed": "move_to_trash",
        "purged": "delete_permanently",
    }
    evict(server, instance_id)
    assert listed(client, "/v1/volumes") == [ids["os"], ids["kept"]]
    for name in ("os", "kept"):
        body = volume(client, ids[name])
        assert (body["status"], body["instances"], body["target"]) == ("detached", [], None)
    assert listed(client, "/v1/volumes/trash") == [ids["trashed"]]
    trashed = volume(client, ids["trashed"])
    assert (trashed["status"], trashed["is_permanently_deleted"]) == ("deleted", False)
    assert trashed["deleted_at"] == isoformat(server.clock.now())
    purged = volume(client, ids["purged"])
    assert (purged["status"], purged["is_permanently_deleted"]) == ("deleted", True)
    # The trash gives it back, as any trashed volume.
    response = client.put("/v1/volumes", json={"action": "restore", "id": ids["trashed"]})
    assert response.status_code == 202, response.text
    assert volume(client, ids["trashed"])["status"] == "detached"
    assert_error(
        client.put("/v1/volumes", json={"action": "restore", "id": ids["purged"]}),
        403,
        "forbidden_action",
    )


def test_an_os_volume_moved_to_trash_is_restorable_for_96_hours(server, client):
    instance_id = running(
        server, client, os_volume={"name": "os", "size": 50, "on_spot_discontinue": "move_to_trash"}
    )
    os_id = instance(client, instance_id)["os_volume_id"]
    evict(server, instance_id)
    assert instance(client, instance_id)["os_volume_id"] == os_id
    assert listed(client, "/v1/volumes/trash") == [os_id]
    server.clock.advance(timedelta(hours=96) - MICRO)
    assert volume(client, os_id)["is_permanently_deleted"] is False
    server.clock.advance(MICRO)
    assert volume(client, os_id)["is_permanently_deleted"] is True
    assert listed(client, "/v1/volumes/trash") == []


def test_an_eviction_gives_the_capacity_back(server, client_of):
    client, other = client_of(), client_of()
    instance_id = deploy(client, location="FIN-01")
    assert available(other, "FIN-01") is False
    full = other.post("/v1/instances", json=deploy_body(location_code="FIN-01", is_spot=True))
    assert "spot capacity" in assert_error(full, 503, "service_unavailable")
    evict(server, instance_id)  # even while provisioning
    assert instance(client, instance_id)["status"] == "discontinued"
    assert available(other, "FIN-01") is True
    replacement = deploy(other, location="FIN-01")
    server.clock.advance(BOOT)
    assert act(other, "delete", replacement).status_code == 202
    assert available(other, "FIN-01") is True


def test_a_shut_down_spot_instance_is_evicted_too(server, client):
    instance_id = running(server, client)
    assert act(client, "shutdown", instance_id).status_code == 202
    evict(server, instance_id)
    assert instance(client, instance_id)["status"] == "discontinued"
    assert [volume["status"] for volume in client.get("/v1/volumes").json()] == ["detached"]


def test_a_shared_volume_is_only_detached_while_another_instance_holds_it(server, client):
    first, second = running(server, client), running(server, client)
    for instance_id in (first, second):
        assert act(client, "shutdown", instance_id).status_code == 202
    body = {
        "type": "NVMe_Shared",
        "name": "shared",
        "size": 10,
        "location_code": "FIN-03",
        "instance_ids": [first, second],
    }
    shared = client.post("/v1/volumes", json=body).text
    response = act(client, "configure_spot", first, volume_ids=[shared], delete_permanently=True)
    assert response.status_code == 202, response.text
    assert volume(client, shared)["on_spot_discontinue"] == "delete_permanently"
    evict(server, first)
    still = volume(client, shared)
    assert still["status"] == "attached"
    assert [i["id"] for i in still["instances"]] == [second]
    assert shared in instance(client, second)["volume_ids"]
    evict(server, second)  # the last one holding it: now the policy applies
    gone = volume(client, shared)
    assert (gone["status"], gone["is_permanently_deleted"]) == ("deleted", True)


def test_only_live_spot_instances_can_be_evicted(server, client):
    on_demand = client.post("/v1/instances", json=deploy_body(location_code="FIN-03")).text
    spot = running(server, client)
    assert act(client, "delete", spot).status_code == 202
    for instance_id in (on_demand, spot):
        with pytest.raises(ValueError, match="not a live spot instance"):
            evict(server, instance_id)
    assert instance(client, on_demand)["status"] == "running"


# ---- evictions by the server clock ---------------------------------------


def test_the_clock_evicts_at_the_drawn_instant_exactly(server, client_of):
    client, other = client_of(), client_of()
    deployed_at = server.clock.now()
    instance_id = deploy(
        client,
        location="FIN-02",
        os_volume={"name": "os", "size": 50, "on_spot_discontinue": "move_to_trash"},
        volumes=VOLUMES[:1],
    )
    ids = named(client, instance_id)
    assert available(other, "FIN-02") is False
    evict_at = expected_eviction(deployed_at, instance_id)
    advance_to(server, evict_at - MICRO)
    alive = (
        "running" if evict_at - MICRO >= deployed_at + timedelta(seconds=BOOT) else "provisioning"
    )
    assert instance(client, instance_id)["status"] == alive
    assert available(other, "FIN-02") is False
    server.clock.advance(MICRO)
    # Another project's read of the shared capacity applies it first.
    assert available(other, "FIN-02") is True
    after = instance(client, instance_id)
    assert (after["status"], after["ip"], after["volume_ids"]) == ("discontinued", None, [])
    assert listed(client, "/v1/instances") == []
    assert listed(client, "/v1/volumes") == [ids["kept"]]
    assert listed(client, "/v1/volumes/trash") == [ids["os"]]


def test_an_eviction_read_late_happened_at_its_instant(server, client_of):
    client, other = client_of(), client_of()
    deployed_at = server.clock.now()
    instance_id = deploy(
        client,
        location="FIN-02",
        os_volume={"name": "os", "size": 50, "on_spot_discontinue": "move_to_trash"},
    )
    os_id = instance(client, instance_id)["os_volume_id"]
    evict_at = expected_eviction(deployed_at, instance_id)
    advance_to(server, evict_at + timedelta(hours=10))
    # The first request after it, a deploy of another project, finds the capacity free.
    replacement = deploy(other, location="FIN-02")
    trashed = volume(client, os_id)
    assert trashed["status"] == "deleted" and trashed["deleted_at"] == isoformat(evict_at)
    advance_to(server, evict_at + timedelta(hours=96) - MICRO)
    assert volume(client, os_id)["is_permanently_deleted"] is False
    server.clock.advance(MICRO)
    assert volume(client, os_id)["is_permanently_deleted"] is True
    # The replacement has an instant of its own, drawn from its own id.
    replaced_at = expected_eviction(evict_at + timedelta(hours=10), replacement)
    advance_to(server, max(replaced_at, server.clock.now()))
    assert instance(other, replacement)["status"] == "discontinued"
    assert available(other, "FIN-02") is True


def test_an_instance_deleted_before_its_instant_is_never_evicted(server, client):
    deployed_at = server.clock.now()
    instance_id = deploy(
        client,
        location="FIN-02",
        os_volume={"name": "os", "size": 50, "on_spot_discontinue": "delete_permanently"},
    )
    os_id = instance(client, instance_id)["os_volume_id"]
    evict_at = expected_eviction(deployed_at, instance_id)
    server.clock.advance(BOOT)
    if evict_at <= server.clock.now():
        pytest.skip("drawn to be evicted while provisioning: nothing to delete first")
    assert act(client, "delete", instance_id, volume_ids=[]).status_code == 202
    advance_to(server, evict_at + timedelta(hours=1))
    assert volume(client, os_id)["status"] == "detached"
    assert instance(client, instance_id)["status"] == "discontinued"


def test_without_a_rate_nothing_is_evicted_in_10000_hours(server, client_of):
    client, on_demand_client = client_of(), client_of()
    spot = running(server, client)
    # FIN-02 evicts spot instances only; the on-demand unit is never taken back.
    on_demand = on_demand_client.post(
        "/v1/instances", json=deploy_body(location_code="FIN-02")
    ).text
    server.clock.advance(timedelta(hours=10_000))
    assert instance(client, spot)["status"] == "running"
    assert instance(on_demand_client, on_demand)["status"] == "running"
    for c, instance_id in ((client, spot), (on_demand_client, on_demand)):
        assert act(c, "delete", instance_id).status_code == 202


# ---- the draw ---------------------------------------------------------------


def test_the_draw_is_the_seeds_and_the_ids():
    instance_id = "0b8b6c6e-3b7a-4d51-9c3e-8a3f4f0a1e2d"
    drawn = eviction.draw_delay(SEED, instance_id, RATE)
    assert drawn is not None and drawn == eviction.draw_delay(SEED, instance_id, RATE)
    hours = random.Random(f"{SEED}:{instance_id}").expovariate(RATE)
    assert drawn == timedelta(hours=hours)
    assert eviction.draw_delay(SEED + 1, instance_id, RATE) != drawn
    assert eviction.draw_delay(SEED, instance_id, 0.0) is None
    # A life beyond a century is never reached: no instant is stored.
    assert eviction.draw_delay(SEED, instance_id, 1e-12) is None


def test_the_draws_are_exponential_with_the_rate():
    lives = [eviction.draw_delay(SEED, f"instance-{n}", RATE) for n in range(4000)]
    hours = [life / timedelta(hours=1) for life in lives if life is not None]
    assert len(hours) == 4000
    mean = sum(hours) / len(hours)
    assert abs(mean - 1 / RATE) < 0.1 / RATE
    # The median of an exponential life is ln 2 / rate.
    median = sorted(hours)[len(hours) // 2]
    assert abs(median - math.log(2) / RATE) < 0.1 / RATE


@pytest.mark.parametrize("rate", [-0.5, "nan", "inf", "often"])
def test_a_bad_eviction_rate_stops_start_up_naming_it(rate, tmp_path: Path):
    data = load_source().model_dump(mode="json")
    data["capacity"]["FIN-01"]["spot_eviction_rate"] = rate
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(CatalogError, match=r"capacity\.FIN-01\.spot_eviction_rate"):
        load_source(path)


def test_the_packaged_catalog_never_evicts():
    source = load_source()
    assert {code: c.spot_eviction_rate for code, c in source.capacity.items()} == dict.fromkeys(
        source.capacity, 0.0
    )


# ---- configure_spot ----------------------------------------------------------


def spot_with_volumes(server: LiveServer, client: httpx.Client) -> str:
    return running(server, client, os_volume={"name": "os", "size": 50}, volumes=VOLUMES)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {},
            {
                "os": "move_to_trash",
                "kept": "keep_detached",
                "trashed": "keep_detached",
                "purged": "keep_detached",
            },
        ),
        (
            {"delete_permanently": True},  # applies to listed volumes only
            {
                "os": "move_to_trash",
                "kept": "keep_detached",
                "trashed": "keep_detached",
                "purged": "keep_detached",
            },
        ),
        (
            {"volume_ids": []},
            {
                "os": "keep_detached",
                "kept": "keep_detached",
                "trashed": "keep_detached",
                "purged": "keep_detached",
            },
        ),
        (
            {"volume_ids": ["kept", "os"]},
            {
                "os": "move_to_trash",
                "kept": "move_to_trash",
                "trashed": "keep_detached",
                "purged": "keep_detached",
            },
        ),
        (
            {"volume_ids": ["kept"], "delete_permanently": True},
            {
                "os": "keep_detached",
                "kept": "delete_permanently",
                "trashed": "keep_detached",
                "purged": "keep_detached",
            },
        ),
    ],
    ids=["no-list", "no-list-permanently", "empty-list", "listed", "listed-permanently"],
)
def test_configure_spot_sets_the_policies_and_the_eviction_follows(
    server, client, fields, expected
):
    instance_id = spot_with_volumes(server, client)
    ids = named(client, instance_id)
    if "volume_ids" in fields:
        fields = {**fields, "volume_ids": [ids[name] for name in fields["volume_ids"]]}
    response = act(client, "configure_spot", instance_id, **fields)
    assert response.status_code == 202, response.text
    assert response.json() == [
        {"instanceId": instance_id, "action": "configure_spot", "status": "success"}
    ]
    assert policies(client, instance_id) == expected
    # Nothing else changed: the instance runs on with every volume attached.
    body = instance(client, instance_id)
    assert body["status"] == "running" and sorted(body["volume_ids"]) == sorted(ids.values())
    evict(server, instance_id)
    outcome = {}
    for name, volume_id in ids.items():
        after = volume(client, volume_id)
        if after["status"] == "deleted":
            outcome[name] = "purged" if after["is_permanently_deleted"] else "trash"
        else:
            outcome[name] = after["status"]
    effect = {"keep_detached": "detached", "move_to_trash": "trash", "delete_permanently": "purged"}
    assert outcome == {name: effect[policy] for name, policy in expected.items()}


def test_configure_spot_refuses_volumes_not_attached_to_it(server, client):
    instance_id = spot_with_volumes(server, client)
    before = policies(client, instance_id)
    loose = client.post(
        "/v1/volumes", json={"type": "HDD", "name": "x", "size": 10, "location_code": "FIN-03"}
    ).text
    mine = named(client, instance_id)["kept"]
    response = act(client, "configure_spot", instance_id, volume_ids=[mine, loose])
    message = assert_error(response, 404, "not_found")
    assert message == f"Volume {loose} is not attached to the instance"
    assert policies(client, instance_id) == before
    assert volume(client, loose)["on_spot_discontinue"] == "keep_detached"


def test_configure_spot_is_refused_for_on_demand_instances(server, client):
    response = client.post("/v1/instances", json=deploy_body(location_code="FIN-03"))
    instance_id = response.text
    os_id = instance(client, instance_id)["os_volume_id"]
    # Refused as not spot even when the listed volume is not its own.
    for volume_ids in (None, [os_id], ["00000000-0000-4000-8000-000000000000"]):
        extra = {} if volume_ids is None else {"volume_ids": volume_ids}
        refused = act(client, "configure_spot", instance_id, **extra)
        message = assert_error(refused, 403, "forbidden_action")
        assert message == "Can't configure_spot an instance that is not a spot instance"
    assert volume(client, os_id)["on_spot_discontinue"] == "keep_detached"


def test_configure_spot_on_several_instances_sets_each_ones_volumes(server, client):
    first, second = spot_with_volumes(server, client), spot_with_volumes(server, client)
    listed_ids = [named(client, first)["kept"], named(client, second)["purged"]]
    response = act(client, "configure_spot", [first, second], volume_ids=listed_ids)
    assert response.status_code == 202, response.text
    assert policies(client, first)["kept"] == "move_to_trash"
    assert policies(client, second)["purged"] == "move_to_trash"
    assert policies(client, first)["purged"] == "keep_detached"
    assert policies(client, second)["kept"] == "keep_detached"


def test_the_document_declares_the_policy_on_volume_answers(contract):
    schemas = contract.document["components"]["schemas"]
    for name in ("GetVolumePublicResponseDto", "GetVolumeInTrashPublicResponseDto"):
        field = schemas[name]["properties"]["on_spot_discontinue"]
        assert field["enum"] == ["keep_detached", "move_to_trash", "delete_permanently"]
        assert "on_spot_discontinue" in schemas[name]["required"]
