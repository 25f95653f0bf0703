"""The instance state table from the outside: every action from every status an
instance can be in, single and bulk, with the HTTP code, the resulting status and
what becomes of the instance's volumes.

The expectations are written out here, not read from the server's table, so that a
wrong entry there fails here. Statuses are reached through the API and the server
clock, except `error`, `no_capacity` and `installation_failed`, which only the real
service's failures lead to: they are forced through the control API.
"""

from __future__ import annotations

import pytest

from tests.support.volumes import MISSING
from tests.test_errors import assert_error
from tests.test_instances import BOOT, act, deploy_body, get
from verda_server.instances.models import Instance

STATUSES = (
    "provisioning",
    "running",
    "offline",
    "error",
    "discontinued",
    "no_capacity",
    "installation_failed",
)
# Reached by the control API's forced outcomes (from provisioning, or from running).
FORCED = {"error": "running", "no_capacity": "provisioning", "installation_failed": "provisioning"}
F = 403  # a refused transition

# For a single id, from each status: the code, and after ">" the resulting status
# (P provisioning, O offline, D discontinued; none: unchanged). In a bulk call 202
# and 204 are both a "success" result, 403 an error result.
GRID = """
                provisioning  running  offline error  discontinued  no_capacity  installation_failed
boot            204           204      202>P   403    403           403          403
start           204           204      202>P   403    403           403          403
shutdown        403           202>O    204     403    403           403          403
force_shutdown  202>O         202>O    204     202>O  403           403          403
hibernate       403           403      202>D   403    403           403          403
delete          403           202>D    202>D   202>D  403           202>D        202>D
discontinue     403           202>D    202>D   202>D  403           202>D        202>D
configure_spot  202           202      202     403    403           403          403
delete_stuck    202>D         403      403     202>D  403           202>D        202>D
"""

Table = dict[str, tuple[tuple[int, str | None], ...]]


def parse(grid: str, columns: tuple[str, ...], names: dict[str, str]) -> Table:
    """Rows of `code` or `code>abbreviation`; None where the status stays."""
    header, *rows = grid.strip().splitlines()
    assert tuple(header.split()) == columns
    table = {}
    for row in rows:
        name, *cells = row.split()
        assert len(cells) == len(columns), row
        parsed = [cell.partition(">") for cell in cells]
        table[name] = tuple((int(code), names[to] if to else None) for code, _, to in parsed)
    return table


TABLE = parse(GRID, STATUSES, {"P": "provisioning", "O": "offline", "D": "discontinued"})

# The messages clients match on (dstack); any other refusal names action and status.
MESSAGES = {
    ("delete", "provisioning"): "Can't discontinue a provisioning instance",
    ("discontinue", "provisioning"): "Can't discontinue a provisioning instance",
    ("delete", "discontinued"): "Can't discontinue a discontinued instance",
    ("discontinue", "discontinued"): "Can't discontinue a discontinued instance",
    ("hibernate", "running"): "Instance must be shut down before it can be hibernated",
}

# What a successful action does to the (OS volume, data volume), no volume_ids sent.
EFFECT = {
    "delete": ("trash", "detached"),
    "discontinue": ("trash", "detached"),
    "delete_stuck": ("trash", "detached"),
    "hibernate": ("detached", "detached"),
}
# Where the volumes are before the action: a discontinued instance was deleted.
BEFORE = {status: ("attached", "attached") for status in STATUSES} | {
    "discontinued": ("trash", "detached")
}


def expected(action: str, status: str) -> tuple[int, str, tuple[str, str]]:
    code, after = TABLE[action][STATUSES.index(status)]
    volumes = EFFECT.get(action, BEFORE[status]) if code == 202 else BEFORE[status]
    return code, after or status, volumes


def message(action: str, status: str) -> str:
    article = "an" if status[0] in "aeiou" else "a"
    return MESSAGES.get((action, status), f"Can't {action} {article} {status} instance")


# ---- reaching a status ----------------------------------------------------


class Fleet:
    """Instances of one project, each with an OS volume and a data volume."""

    def __init__(self, live, client, admin) -> None:
        self.live, self.client, self.admin = live, client, admin
        self.volumes: dict[str, tuple[str, str]] = {}

    def deploy(self, spots: list[bool]) -> list[str]:
        data = [{"name": "data", "size": 10, "type": "HDD"}]
        ids = []
        for spot in spots:
            response = self.client.post(
                "/v1/instances", json=deploy_body(is_spot=spot, volumes=data)
            )
            assert response.status_code == 202, response.text
            ids.append(response.text)
        mine: dict[str, dict[bool, str]] = {i: {} for i in ids}
        for volume in self.client.get("/v1/volumes", params={"status": "attached"}).json():
            if volume["instance_id"] in mine:
                mine[volume["instance_id"]][volume["is_os_volume"]] = volume["id"]
        self.volumes |= {i: (found[True], found[False]) for i, found in mine.items()}
        return ids

    def reach(self, status: str, spots: list[bool]) -> list[str]:
        """One instance in `status` per entry of `spots`. Provisioning ones are made
        last and used at once: they become running when the server clock moves on."""
        ids = self.deploy(spots)
        if FORCED.get(status, status) != "provisioning":
            self.live.clock.advance(BOOT)
        if status == "offline":
            assert act(self.client, "shutdown", ids).status_code == 202
        elif status == "discontinued":
            assert act(self.client, "delete", ids).status_code == 202
        elif status in FORCED:
            for instance_id in ids:
                path = f"/_admin/v1/instances/{instance_id}/force"
                forced = self.admin.post(path, json={"status": status})
                assert forced.status_code == 200, forced.text
        listed = self.client.get("/v1/instances", params={"status": status}).json()
        assert set(ids) <= {i["id"] for i in listed}
        return ids

    def volume_states(self, instance_ids: dict[str, str]) -> dict[str, tuple[str, str]]:
        """The (OS volume, data volume) states of each named instance, by name."""
        state = {v["id"]: v["status"] for v in self.client.get("/v1/volumes").json()}
        state |= {v["id"]: "trash" for v in self.client.get("/v1/volumes/trash").json()}
        return {
            name: tuple(state.get(v) or volume_state(self.client, v) for v in self.volumes[i])  # type: ignore[misc]
            for name, i in instance_ids.items()
        }

    def release(self) -> None:
        """Give the capacity back: the server's is shared by every test."""
        live = self.client.get("/v1/instances").json()
        stuck = [i["id"] for i in live if i["status"] in ("provisioning", "error")]
        rest = [i["id"] for i in live if i["id"] not in stuck]
        for action, ids in (("delete_stuck", stuck), ("delete", rest)):
            if ids:
                act(self.client, action, ids)


def volume_state(client, volume_id: str) -> str:
    body = get_volume(client, volume_id)
    if body["status"] == "deleted":
        return "purged" if body["is_permanently_deleted"] else "trash"
    return body["status"]


def get_volume(client, volume_id: str) -> dict:
    response = client.get(f"/v1/volumes/{volume_id}")
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def fleet(live, authed, admin):
    fleet = Fleet(live, authed, admin)
    yield fleet
    fleet.release()


# ---- the table ------------------------------------------------------------


@pytest.mark.parametrize("status", STATUSES)
def test_every_action_on_one_instance(fleet, authed, status):
    actions = list(TABLE)
    spots = [action == "configure_spot" for action in actions]
    if status == "provisioning":  # each deployed just before its action
        ids: list[str] = []
        for action, spot in zip(actions, spots, strict=True):
            ids.append(fleet.reach(status, [spot])[0])
            _check_single(authed, action, status, ids[-1])
    else:
        ids = fleet.reach(status, spots)
        for action, instance_id in zip(actions, ids, strict=True):
            _check_single(authed, action, status, instance_id)
    by_cell = {f"{a} from {status}": i for a, i in zip(actions, ids, strict=True)}
    assert fleet.volume_states(by_cell) == {
        f"{a} from {status}": expected(a, status)[2] for a in actions
    }
    still_listed = [
        i for a, i in zip(actions, ids, strict=True) if expected(a, status)[1] != "discontinued"
    ]
    # Deployed at one frozen instant, so their list order is not defined.
    assert sorted(i["id"] for i in authed.get("/v1/instances").json()) == sorted(still_listed)


def _check_single(client, action: str, status: str, instance_id: str) -> None:
    code, after, _ = expected(action, status)
    response = act(client, action, instance_id)
    where = f"{action} from {status}"
    if code == F:
        assert assert_error(response, F, "forbidden_action") == message(action, status), where
    else:
        assert response.status_code == code, f"{where}: {response.text}"
    if code == 202:
        assert response.json() == [
            {"instanceId": instance_id, "action": action, "status": "success"}
        ], where
    assert get(client, instance_id)["status"] == after, where


@pytest.mark.parametrize("action", list(TABLE))
def test_every_status_in_one_bulk_call(fleet, authed, action):
    spot = action == "configure_spot"
    ids = {s: fleet.reach(s, [spot])[0] for s in STATUSES if s != "provisioning"}
    ids["provisioning"] = fleet.reach("provisioning", [spot])[0]
    order = [ids[s] for s in STATUSES]
    response = act(authed, action, [*order, MISSING])
    assert response.status_code == 207, response.text
    results = response.json()
    assert [r["instanceId"] for r in results] == [*order, MISSING]
    for status, result in zip(STATUSES, results, strict=False):
        code, after, _ = expected(action, status)
        where = f"{action} from {status}"
        if code == F:
            error = {"status": "error", "error": message(action, status), "statusCode": F}
            assert result == {"instanceId": ids[status], "action": action, **error}, where
        else:
            assert result == {"instanceId": ids[status], "action": action, "status": "success"}
        assert get(authed, ids[status])["status"] == after, where
    assert results[-1] == {
        "instanceId": MISSING,
        "action": action,
        "status": "error",
        "error": "Invalid instance id",
        "statusCode": 404,
    }
    by_cell = {f"{action} from {s}": ids[s] for s in STATUSES}
    assert fleet.volume_states(by_cell) == {
        f"{action} from {s}": expected(action, s)[2] for s in STATUSES
    }


# ---- what becomes of the volumes --------------------------------------------

# volume_ids sent (None: absent; names stand for the instance's volumes),
# delete_permanently, and the resulting (OS volume, data volume).
VARIANTS = [
    (None, False, ("trash", "detached")),
    (None, True, ("trash", "detached")),  # delete_permanently is for listed volumes only
    ([], False, ("detached", "detached")),
    (["data"], False, ("detached", "trash")),
    (["data"], True, ("detached", "purged")),
    (["os", "data"], True, ("purged", "purged")),
]


@pytest.mark.parametrize(("volume_ids", "permanently", "outcome"), VARIANTS)
def test_removing_actions_and_volume_ids(fleet, authed, volume_ids, permanently, outcome):
    cases = [("delete", "running"), ("discontinue", "offline"), ("delete_stuck", "provisioning")]
    for action, status in cases:
        (instance_id,) = fleet.reach(status, [False])
        os_id, data_id = fleet.volumes[instance_id]
        extra: dict[str, object] = {"delete_permanently": permanently}
        if volume_ids is not None:
            names = {"os": os_id, "data": data_id}
            extra["volume_ids"] = [names[n] for n in volume_ids]
        response = act(authed, action, instance_id, **extra)
        assert response.status_code == 202, f"{action}: {response.text}"
        assert get(authed, instance_id)["status"] == "discontinued"
        assert fleet.volume_states({action: instance_id}) == {action: outcome}


def test_a_hibernated_instance_reads_discontinued_and_keeps_its_volumes(fleet, authed):
    (instance_id,) = fleet.reach("offline", [False])
    before = get(authed, instance_id)
    assert act(authed, "hibernate", instance_id).status_code == 202
    assert get(authed, instance_id) == before | {"status": "discontinued", "ip": None} | {
        "volume_ids": []
    }
    assert fleet.volume_states({"hibernated": instance_id}) == {
        "hibernated": ("detached", "detached")
    }
    listed = authed.get("/v1/instances", params={"status": "discontinued"}).json()
    assert [i["id"] for i in listed] == [instance_id]
    # The OS disk it names can be deployed from again.
    again = authed.post("/v1/instances", json=deploy_body(image=before["os_volume_id"]))
    assert again.status_code == 202, again.text


def test_an_instance_without_an_os_volume_can_not_start(fleet, authed):
    (instance_id,) = fleet.reach("offline", [False])
    os_id, _ = fleet.volumes[instance_id]
    detach = {"action": "detach", "id": os_id}
    assert authed.put("/v1/volumes", json=detach).status_code == 202
    for action in ("start", "boot"):
        message = assert_error(act(authed, action, instance_id), 403, "forbidden_action")
        assert message == f"Can't {action} an instance without an OS volume: attach one first"
    attach = {"action": "attach", "id": os_id, "instance_id": instance_id}
    assert authed.put("/v1/volumes", json=attach).status_code == 202
    assert act(authed, "start", instance_id).status_code == 202
    assert get(authed, instance_id)["os_volume_id"] == os_id


def test_instances_deleted_before_discontinued_was_recorded_read_discontinued(fleet, authed, live):
    """Stores written by earlier versions marked removal by `deleted_at` only."""
    (instance_id,) = fleet.reach("discontinued", [False])
    with live.context.db.write() as session:
        session.get(Instance, instance_id).status = "offline"
    assert get(authed, instance_id)["status"] == "discontinued"
    listed = authed.get("/v1/instances", params={"status": "discontinued"}).json()
    assert [i["id"] for i in listed] == [instance_id]
    assert authed.get("/v1/instances", params={"status": "offline"}).json() == []
    message = assert_error(act(authed, "delete", instance_id), 403, "forbidden_action")
    assert message == "Can't discontinue a discontinued instance"
    _, data_id = fleet.volumes[instance_id]
    attach = {"action": "attach", "id": data_id, "instance_id": instance_id}
    assert_error(authed.put("/v1/volumes", json=attach), 403, "forbidden_action")


def test_volumes_do_not_attach_to_a_discontinued_instance(fleet, authed):
    (instance_id,) = fleet.reach("discontinued", [False])
    _, data_id = fleet.volumes[instance_id]
    response = authed.put(
        "/v1/volumes", json={"action": "attach", "id": data_id, "instance_id": instance_id}
    )
    message = assert_error(response, 403, "forbidden_action")
    assert message == "Can't attach a volume to a discontinued instance"
    body = {"type": "NVMe", "name": "v", "size": 10, "location_code": "FIN-01"}
    response = authed.post("/v1/volumes", json=body | {"instance_id": instance_id})
    assert assert_error(response, 403, "forbidden_action") == message
    assert volume_state(authed, data_id) == "detached"


def test_volume_ids_of_a_refused_delete_do_not_hide_the_refusal(fleet, authed):
    """dstack matches the refusal's message, whatever else the call names."""
    for status in ("discontinued", "provisioning"):
        (instance_id,) = fleet.reach(status, [False])
        _, data_id = fleet.volumes[instance_id]
        response = act(authed, "delete", instance_id, volume_ids=[data_id])
        assert assert_error(response, 403, "forbidden_action") == message("delete", status)


def test_the_grid_has_a_row_for_every_action_the_server_performs(contract):
    schemas = contract.document["components"]["schemas"]
    actions = schemas["PerformInstanceActionPublicDto"]["properties"]["action"]["enum"]
    assert set(actions) - {"deploy", "transfer"} == set(TABLE)


def test_only_boot_and_start_need_an_os_volume(fleet, authed):
    """An offline instance whose OS volume was detached can still be configured,
    hibernated, deleted or discontinued."""
    spot, deleted, discontinued = fleet.reach("offline", [True, False, False])
    for instance_id in (spot, deleted, discontinued):
        detach = {"action": "detach", "id": fleet.volumes[instance_id][0]}
        assert authed.put("/v1/volumes", json=detach).status_code == 202
        assert get(authed, instance_id)["os_volume_id"] is None
    for action, instance_id, status in (
        ("configure_spot", spot, "offline"),
        ("hibernate", spot, "discontinued"),
        ("delete", deleted, "discontinued"),
        ("discontinue", discontinued, "discontinued"),
    ):
        response = act(authed, action, instance_id)
        assert response.status_code == 202, f"{action}: {response.text}"
        assert get(authed, instance_id)["status"] == status, action


def test_configure_spot_is_for_spot_instances_only(fleet, authed):
    """The spot_only column: refused for an on-demand instance in a status it is legal in."""
    for status in ("running", "offline", "provisioning"):
        (instance_id,) = fleet.reach(status, [False])
        refused = act(authed, "configure_spot", instance_id)
        message = assert_error(refused, 403, "forbidden_action")
        assert message == "Can't configure_spot an instance that is not a spot instance", status
