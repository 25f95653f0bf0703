"""The volume state table from the outside: every action of `PUT /v1/volumes` and
`DELETE /v1/volumes/{id}` from every status a volume can reach, with the HTTP code
and the resulting status. Expectations are written out here, not read from the
server's table. `attached` volumes are on a shut-down instance, so that only the
volume's own status decides."""

from __future__ import annotations

import pytest

from tests.support.volumes import create, make_instances
from tests.test_errors import assert_error
from tests.test_instance_states import Fleet, parse, volume_state

# `trash` is deleted and restorable, `purged` deleted for good.
STATUSES = ("detached", "attached", "cloning", "trash", "purged", "canceled")
F = 403  # a refused transition

# From each status: the code, and after ">" the resulting status (none: unchanged).
# `PUT /v1/volumes` actions in lower case, `DELETE /v1/volumes/{id}` in capitals;
# "-permanent" sends is_permanent.
GRID = """
                  detached  attached  cloning   trash     purged  canceled
attach            202>att   403       403       403       403     403
detach            403       202>det   403       403       403     403
rename            202       202       202       403       403     403
resize            202       202       403       403       403     403
delete            202>tr    202>tr    403       403       403     403
delete-permanent  202>pu    202>pu    403       202>pu    403     403
restore           403       403       403       202>det   403     403
clone             202       202       403       403       403     403
cancel            403       403       202>can   403       403     403
DELETE            202>tr    202>tr    403       204       204     204
DELETE-permanent  202>pu    202>pu    403       202>pu    204     204
"""
NAMES = {"att": "attached", "det": "detached", "tr": "trash", "pu": "purged", "can": "canceled"}
TABLE = parse(GRID, STATUSES, NAMES)

# What a refusal says, by status: the status as the volume reads it.
SHOWN = {"trash": "deleted", "purged": "deleted"}


def message(call: str, status: str) -> str:
    if call == "attach" and status == "attached":
        return "A NVMe volume attaches to one instance only: detach it first"
    action = call.split("-")[0].lower()
    return f"Can't {action} a volume that is {SHOWN.get(status, status)}"


def reach(client, status: str, instance_id: str) -> str:
    """A new NVMe volume in `status`. A clone to another location is `cloning` for
    5 s of server clock: made last, used at once."""
    if status == "attached":
        return create(client, instance_id=instance_id)
    volume_id = create(client)
    if status in ("cloning", "canceled"):
        response = _put(client, "clone", volume_id, location_code="ICE-01")
        assert response.status_code == 202, response.text
        (volume_id,) = response.json()
    if status == "canceled":
        assert _put(client, "cancel", volume_id).status_code == 202
    if status in ("trash", "purged"):
        response = _put(client, "delete", volume_id, is_permanent=status == "purged")
        assert response.status_code == 202, response.text
    assert volume_state(client, volume_id) == status
    return volume_id


def _put(client, action: str, volume_id: str, **fields):
    return client.put("/v1/volumes", json={"action": action, "id": volume_id, **fields})


def call(client, name: str, volume_id: str, instance_id: str):
    permanent = name.endswith("-permanent")
    if name.startswith("DELETE"):
        body = {"is_permanent": True} if permanent else None
        return client.request("DELETE", f"/v1/volumes/{volume_id}", json=body)
    action = name.split("-")[0]
    fields: dict[str, object] = {
        "attach": {"instance_id": instance_id},
        "rename": {"name": "renamed"},
        "resize": {"size": 100},
        "delete": {"is_permanent": permanent},
    }.get(action, {})
    return _put(client, action, volume_id, **fields)


@pytest.mark.parametrize("status", STATUSES)
def test_every_volume_call_from(live, authed, status):
    (instance_id,) = make_instances(live, authed)  # shut down: a volume may come and go
    for name, row in TABLE.items():
        code, after = row[STATUSES.index(status)]
        after = after or status
        volume_id = reach(authed, status, instance_id)
        where = f"{name} from {status}"
        response = call(authed, name, volume_id, instance_id)
        if code == F:
            assert assert_error(response, F, "forbidden_action") == message(name, status), where
        else:
            assert response.status_code == code, f"{where}: {response.text}"
        assert volume_state(authed, volume_id) == after, where
    authed.put("/v1/instances", json={"action": "delete", "id": instance_id})


def test_the_grid_has_a_row_for_every_action_the_server_performs(contract):
    schemas = contract.document["components"]["schemas"]
    actions = schemas["PerformVolumeActionPublicDto"]["properties"]["action"]["enum"]
    performed = {name.split("-")[0] for name in TABLE if name.islower()}
    assert set(actions) - {"create", "export", "transfer"} == performed


def test_the_timed_transition_of_a_cloning_volume(live, authed):
    """TIMED: `cloning` ends by itself (5 s of server clock) in `detached`."""
    volume_id = reach(authed, "cloning", "")
    live.clock.advance(5.1)
    assert volume_state(authed, volume_id) == "detached"
    listed = authed.get("/v1/volumes", params={"status": "detached"}).json()
    assert volume_id in [v["id"] for v in listed]


# What a volume call needs of the instance it touches (SHUT_DOWN and REMOVED of the
# instance table): by instance status, the refusal (None: accepted) of attaching a new
# volume to it, of deleting its data volume and of detaching its OS volume.
NOT_SHUT_DOWN = "One or more of the specified instances is not shut down"
ON_INSTANCE = {
    "provisioning": (NOT_SHUT_DOWN, NOT_SHUT_DOWN, NOT_SHUT_DOWN),
    "running": (NOT_SHUT_DOWN, NOT_SHUT_DOWN, NOT_SHUT_DOWN),
    "error": (NOT_SHUT_DOWN, NOT_SHUT_DOWN, NOT_SHUT_DOWN),
    "offline": (None, None, None),
}


@pytest.mark.parametrize("status", [*ON_INSTANCE, "discontinued"])
def test_volume_calls_by_the_status_of_their_instance(live, authed, admin, status):
    fleet = Fleet(live, authed, admin)
    try:
        _check_volume_calls(authed, fleet, status)
    finally:
        fleet.release()


def _check_volume_calls(authed, fleet, status: str) -> None:
    (instance_id,) = fleet.reach(status, [False])
    os_id, data_id = fleet.volumes[instance_id]
    spare = create(authed)
    attach = _put(authed, "attach", spare, instance_id=instance_id)
    if status == "discontinued":
        message = "Can't attach a volume to a discontinued instance"
        assert assert_error(attach, F, "forbidden_action") == message
        assert volume_state(authed, spare) == "detached"
        return
    attach_refusal, delete_refusal, detach_refusal = ON_INSTANCE[status]
    calls = (
        (attach, attach_refusal, spare, "detached", "attached"),
        (authed.delete(f"/v1/volumes/{data_id}"), delete_refusal, data_id, "attached", "trash"),
        (_put(authed, "detach", os_id), detach_refusal, os_id, "attached", "detached"),
    )
    for response, refusal, volume_id, before, after in calls:
        if refusal is None:
            assert response.status_code == 202, response.text
            assert volume_state(authed, volume_id) == after
        else:
            assert assert_error(response, F, "forbidden_action") == refusal
            assert volume_state(authed, volume_id) == before


def test_which_statuses_the_active_list_and_the_trash_hold(live, authed):
    """ACTIVE: the plain list holds live and cloning volumes, the trash the deleted ones
    that are not purged; purged and canceled volumes are in neither."""
    (instance_id,) = make_instances(live, authed)
    by_status = {status: reach(authed, status, instance_id) for status in STATUSES}
    active = [v["id"] for v in authed.get("/v1/volumes").json()]
    trash = [v["id"] for v in authed.get("/v1/volumes/trash").json()]
    in_list = {s for s, v in by_status.items() if v in active}
    in_trash = {s for s, v in by_status.items() if v in trash}
    assert (in_list, in_trash) == ({"detached", "attached", "cloning"}, {"trash"})
    for status in ("detached", "attached", "cloning"):
        listed = authed.get("/v1/volumes", params={"status": status}).json()
        assert by_status[status] in [v["id"] for v in listed], status
