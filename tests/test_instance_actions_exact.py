"""`volume_ids` of a removing action name volumes of the instances being removed, and
only those: not another instance's of the same project, not another project's."""

from __future__ import annotations

from tests.test_errors import assert_error
from tests.test_instances import BOOT, act, deploy, get


def _os_volume(client, instance_id: str) -> str:
    return get(client, instance_id)["os_volume_id"]


def test_volume_ids_of_another_instance_of_the_project_are_refused(live, authed):
    removed, kept = deploy(authed), deploy(authed)
    live.clock.advance(BOOT)
    foreign_volume = _os_volume(authed, kept)
    response = act(authed, "delete", removed, volume_ids=[foreign_volume])
    message = assert_error(response, 404, "not_found")
    assert message == f"Volume {foreign_volume} is not attached to the instance"
    assert get(authed, removed)["status"] == "running"
    assert authed.get(f"/v1/volumes/{foreign_volume}").json()["status"] == "attached"


def test_volume_ids_of_another_projects_instance_are_refused(live, authed, client_of):
    mine = deploy(authed)
    stranger = client_of(live.new_project())
    theirs = deploy(stranger)
    live.clock.advance(BOOT)
    their_volume = _os_volume(stranger, theirs)
    response = act(authed, "delete", [mine, theirs], volume_ids=[their_volume])
    message = assert_error(response, 404, "not_found")
    assert message == f"Volume {their_volume} is not attached to the instance"
    assert get(authed, mine)["status"] == "running"
    assert get(stranger, theirs)["status"] == "running"
    assert stranger.get(f"/v1/volumes/{their_volume}").json()["status"] == "attached"


def test_an_unknown_action_lists_the_known_ones(live, authed):
    instance_id = deploy(authed)
    message = assert_error(act(authed, "fly", instance_id), 400, "invalid_request")
    known = (
        "boot, start, shutdown, force_shutdown, hibernate, delete, discontinue, "
        "configure_spot, delete_stuck"
    )
    assert message == f"action: unknown action 'fly' (one of {known})"
    live.clock.advance(BOOT)
    assert act(authed, "delete", instance_id).status_code == 202
