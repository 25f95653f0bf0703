"""PUT /v1/volumes at its exact edges: the messages of malformed actions, attaching by
`instance_ids`, and the times a purge and a cancel leave on a volume."""

from __future__ import annotations

import pytest

from tests.support.volumes import act, create, get, make_instances
from tests.test_errors import assert_error

ACTIONS = "attach, detach, delete, rename, resize, restore, clone, cancel, create, export, transfer"


def test_an_unknown_action_lists_the_known_ones(authed):
    volume_id = create(authed)
    message = assert_error(act(authed, "fly", volume_id), 400, "invalid_request")
    assert message == f"action: unknown action 'fly' (one of {ACTIONS})"


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("attach", "instance_id: name the instance to attach to"),
        ("rename", "name: Field required"),
        ("resize", "size: Field required"),
    ],
)
def test_an_action_without_its_field_names_it(authed, action, message):
    volume_id = create(authed)
    assert assert_error(act(authed, action, volume_id), 400, "invalid_request") == message
    assert get(authed, volume_id)["status"] == "detached"


def test_attach_takes_instance_ids_alone(live, authed):
    (instance_id,) = make_instances(live, authed)
    volume_id = create(authed)
    response = act(authed, "attach", volume_id, instance_ids=[instance_id])
    assert response.status_code == 202, response.text
    body = get(authed, volume_id)
    assert (body["status"], body["instance_id"]) == ("attached", instance_id)


def test_a_purge_from_the_trash_keeps_the_time_it_was_deleted(live, authed):
    volume_id = create(authed)
    assert act(authed, "delete", volume_id).status_code == 202
    trashed = get(authed, volume_id)
    live.clock.advance(60)
    assert act(authed, "delete", volume_id, is_permanent=True).status_code == 202
    purged = get(authed, volume_id)
    assert purged["is_permanently_deleted"] is True
    assert purged["deleted_at"] == trashed["deleted_at"]


def test_a_canceled_clone_reads_the_time_of_its_cancel(live, authed):
    source = create(authed)
    response = act(authed, "clone", source, location_code="ICE-01")
    (clone,) = response.json()
    created_at = get(authed, clone)["created_at"]
    live.clock.advance(2)
    assert act(authed, "cancel", clone).status_code == 202
    body = get(authed, clone)
    assert body["status"] == "canceled"
    assert body["deleted_at"] > created_at


def test_an_empty_id_list_is_refused(authed):
    for action in ("rename", "delete"):
        response = act(authed, action, [], name="x")
        assert assert_error(response, 400, "invalid_request") == "id: at least 1 item"


def test_an_attached_shared_volume_does_not_excuse_the_volumes_after_it(live, authed):
    """Every listed volume is checked, also after a shared one that is attached already."""
    a, b = make_instances(live, authed, count=2)
    shared = create(authed, type="NVMe_Shared", instance_id=a)
    trashed = create(authed)
    assert act(authed, "delete", trashed).status_code == 202
    response = act(authed, "attach", [shared, trashed], instance_id=b)
    message = assert_error(response, 403, "forbidden_action")
    assert message == "Can't attach a volume that is deleted"
    assert [i["id"] for i in get(authed, shared)["instances"]] == [a]
    assert get(authed, trashed)["instances"] == []
