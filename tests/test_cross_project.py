"""Project A names project B's things in every place a request can carry a
reference: each answer is exactly the answer for an id that does not exist
(same status, code and message), and nothing of B changes."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import checked_client
from tests.support.keys import ed25519_key
from tests.test_instances import BOOT, deploy_body

WHERE = "FIN-03"  # away from the location most tests fill


@dataclass
class World:
    a: httpx.Client  # project A's client: every request of the test is A's
    b: httpx.Client  # project B's, only to observe B
    refs: dict[str, str]  # B's things by role, and A's own
    before: dict[str, Any]  # what B had when the world was made


def _deploy(client: httpx.Client, **fields: Any) -> str:
    response = client.post("/v1/instances", json=deploy_body(location_code=WHERE, **fields))
    assert response.status_code == 202, response.text
    return response.text


def _volume(client: httpx.Client, **fields: Any) -> str:
    body = {"type": "NVMe", "name": "v", "size": 10, "location_code": WHERE, **fields}
    response = client.post("/v1/volumes", json=body)
    assert response.status_code == 202, response.text
    return response.text


def _ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201, 202), response.text
    return response.json() if response.headers.get("content-type") == "application/json" else None


@pytest.fixture(scope="module")
def world(live, contract) -> Iterator[World]:
    a_creds, b_creds = live.new_project(), live.new_project()
    with checked_client(live.base_url, contract) as anonymous:
        a_token, b_token = a_creds.access_token(anonymous), b_creds.access_token(anonymous)
    with (
        checked_client(live.base_url, contract, a_token) as a,
        checked_client(live.base_url, contract, b_token) as b,
    ):
        refs = {
            "key": b.post("/v1/sshkeys", json={"name": "b", "key": ed25519_key()}).text,
            "script": b.post("/v1/scripts", json={"name": "b", "script": "echo b"}).text,
            "running": _deploy(b),
            "spot": _deploy(b, is_spot=True),
            "offline": _deploy(b),
            "gone": _deploy(b),
            "a_offline": _deploy(a),
        }
        live.clock.advance(BOOT)
        _ok(b.put("/v1/instances", json={"action": "shutdown", "id": refs["offline"]}))
        _ok(a.put("/v1/instances", json={"action": "shutdown", "id": refs["a_offline"]}))
        refs["os_volume"] = b.get(f"/v1/instances/{refs['gone']}").json()["os_volume_id"]
        _ok(b.put("/v1/instances", json={"action": "delete", "id": refs["gone"], "volume_ids": []}))
        refs["volume"] = _volume(b)
        refs["attached"] = _volume(b, instance_id=refs["offline"])
        refs["trashed"] = _volume(b)
        _ok(b.put("/v1/volumes", json={"action": "delete", "id": refs["trashed"]}))
        clone = {"action": "clone", "id": refs["volume"], "location_code": "ICE-01"}
        (refs["cloning"],) = _ok(b.put("/v1/volumes", json=clone))
        refs["provisioning"] = _deploy(b)  # the clock stays put from here on
        refs["a_volume"] = _volume(a)
        yield World(a, b, refs, _snapshot(b))


def _snapshot(b: httpx.Client) -> dict[str, Any]:
    """Everything of B's (the lists hold every live instance and volume in full)."""
    paths = ["/v1/instances", "/v1/volumes", "/v1/volumes/trash", "/v1/sshkeys", "/v1/scripts"]
    return {path: b.get(path).json() for path in paths}


Request = Callable[[str, dict[str, str]], tuple[str, str, Any]]


def _put_instances(action: str, **extra: Any) -> Request:
    return lambda ref, refs: ("PUT", "/v1/instances", {"action": action, "id": ref, **extra})


def _put_volumes(action: str, **extra: Any) -> Request:
    return lambda ref, refs: ("PUT", "/v1/volumes", {"action": action, "id": ref, **extra})


def _deploy_with(**fields: Any) -> Request:
    def request(ref: str, refs: dict[str, str]) -> tuple[str, str, Any]:
        body = {k: (ref if v == "REF" else [ref] if v == ["REF"] else v) for k, v in fields.items()}
        return "POST", "/v1/instances", deploy_body(location_code=WHERE, **body)

    return request


NEW_VOLUME = {"type": "NVMe", "name": "a", "size": 10, "location_code": WHERE}

# (case, B's thing referenced, the request naming it)
CASES: list[tuple[str, str, Request]] = [
    # SSH keys
    ("get key", "key", lambda ref, refs: ("GET", f"/v1/sshkeys/{ref}", None)),
    ("get key (ssh-keys)", "key", lambda ref, refs: ("GET", f"/v1/ssh-keys/{ref}", None)),
    ("delete key", "key", lambda ref, refs: ("DELETE", f"/v1/sshkeys/{ref}", None)),
    ("delete keys", "key", lambda ref, refs: ("DELETE", "/v1/sshkeys", {"keys": [ref]})),
    ("deploy with key", "key", _deploy_with(ssh_key_ids=["REF"])),
    # startup scripts
    ("get script", "script", lambda ref, refs: ("GET", f"/v1/scripts/{ref}", None)),
    ("delete script", "script", lambda ref, refs: ("DELETE", f"/v1/scripts/{ref}", None)),
    (
        "delete scripts",
        "script",
        lambda ref, refs: ("DELETE", "/v1/scripts", {"scripts": [ref]}),
    ),
    ("deploy with script", "script", _deploy_with(startup_script_id="REF")),
    # volumes
    ("get volume", "volume", lambda ref, refs: ("GET", f"/v1/volumes/{ref}", None)),
    ("delete volume by id", "volume", lambda ref, refs: ("DELETE", f"/v1/volumes/{ref}", None)),
    (
        "purge volume by id",
        "trashed",
        lambda ref, refs: ("DELETE", f"/v1/volumes/{ref}", {"is_permanent": True}),
    ),
    (
        "attach volume",
        "volume",
        lambda ref, refs: (
            "PUT",
            "/v1/volumes",
            {"action": "attach", "id": ref, "instance_id": refs["a_offline"]},
        ),
    ),
    ("detach volume", "attached", _put_volumes("detach")),
    ("rename volume", "volume", _put_volumes("rename", name="stolen")),
    ("resize volume", "volume", _put_volumes("resize", size=500)),
    ("trash volume", "volume", _put_volumes("delete")),
    ("purge volume", "volume", _put_volumes("delete", is_permanent=True)),
    ("restore volume", "trashed", _put_volumes("restore")),
    ("clone volume", "volume", _put_volumes("clone")),
    ("clone volume away", "volume", _put_volumes("clone", location_code="ICE-01")),
    ("cancel clone", "cloning", _put_volumes("cancel")),
    ("deploy with existing volume", "volume", _deploy_with(existing_volumes=["REF"])),
    ("deploy on an OS volume", "os_volume", _deploy_with(image="REF")),
    (
        "delete own instance with volume",
        "attached",
        lambda ref, refs: (
            "PUT",
            "/v1/instances",
            {"action": "delete", "id": refs["a_offline"], "volume_ids": [ref]},
        ),
    ),
    # instances
    ("get instance", "running", lambda ref, refs: ("GET", f"/v1/instances/{ref}", None)),
    ("boot", "offline", _put_instances("boot")),
    ("start", "offline", _put_instances("start")),
    ("shutdown", "running", _put_instances("shutdown")),
    ("shutdown as a list", "running", lambda ref, refs: _put_instances("shutdown")([ref], refs)),
    (
        "shutdown by the deprecated path",
        "running",
        lambda ref, refs: ("POST", "/v1/instances/action", {"action": "shutdown", "id": [ref]}),
    ),
    ("force_shutdown", "running", _put_instances("force_shutdown")),
    ("hibernate", "offline", _put_instances("hibernate")),
    ("delete", "running", _put_instances("delete")),
    ("delete keeping volumes", "offline", _put_instances("delete", volume_ids=[])),
    ("discontinue", "running", _put_instances("discontinue")),
    ("configure_spot", "spot", _put_instances("configure_spot")),
    ("delete_stuck", "provisioning", _put_instances("delete_stuck")),
    (
        "create volume onto instance",
        "offline",
        lambda ref, refs: ("POST", "/v1/volumes", {**NEW_VOLUME, "instance_id": ref}),
    ),
    (
        "create volume onto instances",
        "offline",
        lambda ref, refs: ("POST", "/v1/volumes", {**NEW_VOLUME, "instance_ids": [ref]}),
    ),
    (
        "attach own volume to instance",
        "offline",
        lambda ref, refs: (
            "PUT",
            "/v1/volumes",
            {"action": "attach", "id": refs["a_volume"], "instance_id": ref},
        ),
    ),
]


def _send(client: httpx.Client, request: tuple[str, str, Any]) -> httpx.Response:
    method, path, body = request
    return client.request(method, path, json=body)


def _answer(response: httpx.Response, ref: str) -> tuple[int, Any]:
    """Status and body, with the id that was named written as <id>."""
    text = response.text.replace(ref, "<id>").replace(ref.upper(), "<id>")
    return response.status_code, text


@pytest.mark.parametrize(("role", "build"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_another_project_s_things_are_not_found_like_missing_ones(world, role, build):
    ref, missing = world.refs[role], str(uuid.uuid4())
    theirs = _send(world.a, build(ref, world.refs))
    absent = _send(world.a, build(missing, world.refs))
    assert theirs.status_code >= 400, theirs.text
    assert _answer(theirs, ref) == _answer(absent, missing)
    assert _snapshot(world.b) == world.before
