"""`volume_ids` of a removing action name volumes of the instances being removed, and
only those: not another instance's of the same project, not another project's."""

from __future__ import annotations

import httpx

from tests.support.volumes import reauthenticate
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


def test_volume_ids_of_another_projects_instance_are_refused(live, authed):
    mine = deploy(authed)
    other = live.new_project()
    with httpx.Client(base_url=live.base_url, timeout=10) as stranger:
        reauthenticate(stranger, other)
        theirs = deploy(stranger)
        live.clock.advance(BOOT)
        their_volume = _os_volume(stranger, theirs)
        response = act(authed, "delete", [mine, theirs], volume_ids=[their_volume])
        message = assert_error(response, 404, "not_found")
        assert message == f"Volume {their_volume} is not attached to the instance"
        assert get(authed, mine)["status"] == "running"
        assert get(stranger, theirs)["status"] == "running"
        assert stranger.get(f"/v1/volumes/{their_volume}").json()["status"] == "attached"


def test_only_boot_and_start_need_an_os_volume(live, authed):
    """An offline instance whose OS volume was detached can still be configured,
    hibernated, deleted or discontinued."""
    spot, deleted, discontinued = (deploy(authed, is_spot=s) for s in (True, False, False))
    live.clock.advance(BOOT)
    for instance_id in (spot, deleted, discontinued):
        assert act(authed, "shutdown", instance_id).status_code == 202
        detach = {"action": "detach", "id": _os_volume(authed, instance_id)}
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
