"""Jobs (`/job-deployments`) through raw HTTP: BEYOND.md §4."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.support import serverless as sl
from tests.support.live import LiveServer

pytestmark = pytest.mark.usefixtures("gives_back")

PATH = "/v1/job-deployments"
READY = 3  # the `fast` profile's serverless_ready_seconds


def create(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(PATH, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def status(client: httpx.Client, name: str = "batch") -> str:
    response = client.get(f"{PATH}/{name}/status")
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


def test_create_answers_the_job(authed: httpx.Client, live: LiveServer, project: Any) -> None:
    entry = {"enabled": True, "entrypoint": ["python3", "main.py"], "cmd": ["--port", "8080"]}
    made = create(authed, sl.job(containers=[sl.container(entrypoint_overrides=entry)]))
    assert made["name"] == "batch"
    assert made["containers"][0]["name"] == "random-logger-0"
    assert made["containers"][0]["image"]["image"] == sl.IMAGE
    assert made["containers"][0]["entrypoint_overrides"] == entry
    assert made["endpoint_base_url"] == f"{live.base_url}/serverless/batch"
    assert made["created_by_user_id"] == project.client_id
    assert made["scaling"] == {
        "max_replica_count": 1,
        "queue_message_ttl_seconds": 300,
        "deadline_seconds": 3600,
    }
    assert made["container_registry_settings"] == {"is_private": False, "credentials": None}
    assert "is_spot" not in made
    assert authed.get(f"{PATH}/batch").json() == made
    assert authed.get(PATH).json() == [
        {
            "name": "batch",
            "created_at": made["created_at"],
            "created_by_user_id": project.client_id,
            "compute": sl.COMPUTE,
        }
    ]
    assert status(authed) == "running"
    assert authed.get(f"{PATH}/batch/scaling").json() == made["scaling"]
    # Not a deployment: the deployments' paths don't know it.
    assert authed.get("/v1/container-deployments/batch").status_code == 404


def test_scaling_defaults_and_go_omissions(authed: httpx.Client) -> None:
    made = create(authed, sl.job(scaling={"max_replica_count": 2}, is_spot=True))
    assert made["scaling"] == {
        "max_replica_count": 2,
        "queue_message_ttl_seconds": 300,
        "deadline_seconds": 3600,
    }
    assert authed.post(PATH, json=sl.job("other", scaling=None)).status_code == 400
    bad = sl.job("bad", scaling={"max_replica_count": 0})
    assert authed.post(PATH, json=bad).status_code == 400


def test_volume_id_spellings(authed: httpx.Client) -> None:
    volume = authed.post(
        "/v1/volumes",
        json={"type": "HDD_Shared", "name": "s", "size": 50, "location_code": "FIN-01"},
    )
    assert volume.status_code == 202, volume.text
    mounts = [{"type": "shared", "mount_path": "/m", "volumeId": volume.text},
              {"type": "scratch", "mount_path": "/data"}]  # fmt: skip
    made = create(authed, sl.job(containers=[sl.container(volume_mounts=mounts)]))
    assert made["containers"][0]["volume_mounts"][0] == {
        "type": "shared", "mount_path": "/m", "volume_id": volume.text,
    }  # fmt: skip


def test_names_are_shared_with_deployments(authed: httpx.Client) -> None:
    response = authed.post("/v1/container-deployments", json=sl.deployment("web"))
    assert response.status_code == 201, response.text
    taken = authed.post(PATH, json=sl.job("web"))
    assert taken.status_code == 409 and "container deployment" in taken.json()["message"]
    assert authed.post(PATH, json=sl.job("Bad_Name")).status_code == 400
    create(authed, sl.job())
    assert authed.post(PATH, json=sl.job()).status_code == 409


def test_patch(authed: httpx.Client) -> None:
    made = create(authed, sl.job())
    # The Go integration test's patch.
    scaling = {"max_replica_count": 1, "queue_message_ttl_seconds": 300, "deadline_seconds": 3600}
    response = authed.patch(f"{PATH}/batch", json={"scaling": scaling})
    assert response.status_code == 200 and response.json()["name"] == "batch"
    response = authed.patch(
        f"{PATH}/batch",
        json={
            "scaling": {"deadline_seconds": 60},
            "containers": [{"name": "random-logger-0", "image": "nginx:1.29.1"}],
            "compute": {"name": "H200", "size": 2},
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scaling"] == {**scaling, "deadline_seconds": 60}
    assert body["containers"][0]["image"]["image"] == "nginx:1.29.1"
    assert body["containers"][0]["name"] == made["containers"][0]["name"]
    assert body["compute"] == {"name": "H200", "size": 2}
    no_name = {"containers": [{"image": "nginx:1.29.1"}]}
    response = authed.patch(f"{PATH}/batch", json=no_name)
    assert response.status_code == 400
    assert "containers.0.name should not be null or undefined" in response.json()["message"]


def test_pause_resume_purge(authed: httpx.Client) -> None:
    create(authed, sl.job())
    for action, expected in (("pause", "paused"), ("pause", "paused"), ("resume", "running"),
                             ("resume", "running"), ("purge-queue", "running")):  # fmt: skip
        response = authed.post(
            f"{PATH}/batch/{action}", headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 200 and response.content == b""
        assert status(authed) == expected


@pytest.mark.parametrize("timeout", [None, "120000", "120000.0", "300000"])
def test_delete_within_the_wait(authed: httpx.Client, timeout: str | None) -> None:
    create(authed, sl.job())
    params = {"timeout": timeout} if timeout is not None else None
    response = authed.delete(f"{PATH}/batch", params=params)
    assert response.status_code == 200 and response.content == b""
    assert authed.get(f"{PATH}/batch").status_code == 404
    assert authed.get(PATH).json() == []


def test_delete_without_waiting_is_terminating_first(
    authed: httpx.Client, live: LiveServer
) -> None:
    create(authed, sl.job())
    assert authed.delete(f"{PATH}/batch", params={"timeout": "0"}).status_code == 200
    assert status(authed) == "terminating"
    assert authed.post(PATH, json=sl.job()).status_code == 409
    assert authed.patch(f"{PATH}/batch", json={}).status_code == 409
    live.clock.advance(READY)
    assert authed.get(f"{PATH}/batch/status").status_code == 404
    assert authed.get(PATH).json() == []
    create(authed, sl.job())


def test_unknown_and_foreign_jobs_are_not_found(
    authed: httpx.Client, live: LiveServer, client_of: Any
) -> None:
    create(authed, sl.job())
    other = client_of(live.new_project())
    for client, name in ((authed, "nope"), (other, "batch")):
        for method, path in (("GET", ""), ("PATCH", ""), ("DELETE", ""), ("GET", "/status"),
                             ("GET", "/scaling"), ("POST", "/pause"), ("POST", "/resume"),
                             ("POST", "/purge-queue")):  # fmt: skip
            response = client.request(
                method, f"{PATH}/{name}{path}", json={} if method == "PATCH" else None
            )
            assert response.status_code == 404, (method, path, response.text)
    assert other.get(PATH).json() == []
    # No restart, replicas, env or scaling patch for jobs.
    for method, path in (("POST", "/restart"), ("GET", "/replicas"),
                         ("GET", "/environment-variables"), ("PATCH", "/scaling")):  # fmt: skip
        assert authed.request(method, f"{PATH}/batch{path}", json={}).status_code == 404


def test_an_empty_balance_creates_no_job(live: LiveServer, client_of: Any) -> None:
    client = client_of(live.new_project(balance="0"))
    assert client.post(PATH, json=sl.job()).status_code == 402


def test_resuming_a_job_with_an_empty_balance_is_refused(
    live: LiveServer, client_of: Any, admin: httpx.Client
) -> None:
    credentials = live.new_project(balance="1")
    client = client_of(credentials)
    assert client.post(PATH, json=sl.job()).status_code == 201
    assert client.post(f"{PATH}/batch/pause").status_code == 200
    emptied = admin.post(
        f"/_admin/v1/projects/{credentials.project_id}/balance", json={"amount": "0"}
    )
    assert emptied.status_code == 200, emptied.text
    response = client.post(f"{PATH}/batch/resume")
    assert response.status_code == 402, response.text
    assert client.get(f"{PATH}/batch/status").json() == {"status": "paused"}


def test_a_resumed_job_works_its_queue_at_once(authed: httpx.Client, live: LiveServer) -> None:
    """Pause and resume change what the job's queue does: its replicas stop at the
    pause and start again at the resume, charged then (not when the queue next
    fell due by itself, the waiting request's TTL five minutes on)."""

    def balance() -> Decimal:
        return Decimal(str(authed.get("/v1/balance").json()["amount"]))

    create(authed, sl.job())  # one replica at most: H100 x1, 1.75 an hour
    start = balance()
    for _ in range(2):
        sent = authed.post("/serverless/batch/run", json={}, headers={"Prefer": "respond-async"})
        assert sent.status_code == 202, sent.text
    live.clock.advance(0.5)
    assert authed.post(f"{PATH}/batch/pause").status_code == 200
    live.clock.advance(1.5)
    assert authed.post(f"{PATH}/batch/resume").status_code == 200
    live.clock.advance(0.5)
    # 0.5 s before the pause and 0.5 s since the resume, one replica each.
    assert abs(start - balance() - Decimal("1.75") / 3600) < Decimal("1e-11")


def test_more_replicas_for_a_job_work_its_queue_at_once(
    authed: httpx.Client, live: LiveServer
) -> None:
    def balance() -> Decimal:
        return Decimal(str(authed.get("/v1/balance").json()["amount"]))

    create(authed, sl.job())
    start = balance()
    for _ in range(2):
        sent = authed.post("/serverless/batch/run", json={}, headers={"Prefer": "respond-async"})
        assert sent.status_code == 202, sent.text
    live.clock.advance(0.5)
    wider = authed.patch(f"{PATH}/batch", json={"scaling": {"max_replica_count": 2}})
    assert wider.status_code == 200, wider.text
    live.clock.advance(0.25)
    # One replica for 0.75 s, the second (for the waiting request) since the patch.
    assert abs(start - balance() - Decimal("1.75") / 3600) < Decimal("1e-11")


def test_an_empty_patch_changes_nothing(authed: httpx.Client) -> None:
    made = authed.post(PATH, json=sl.job())
    assert made.status_code == 201, made.text
    for headers in ({}, {"Content-Type": "application/json"}):
        answered = authed.patch(f"{PATH}/batch", content=b"", headers=headers)
        assert answered.status_code == 200, answered.text
        assert answered.json() == made.json()


def test_a_compute_change_needs_room_for_the_replicas_at_work(
    authed: httpx.Client, live: LiveServer
) -> None:
    from verda_server.serverless.compute.service import capacity_of

    whole = capacity_of(live.context.catalog, "B300") // 8
    scaling = {"max_replica_count": whole, "queue_message_ttl_seconds": 300, "deadline_seconds": 60}
    # CPUNode: plenty of room, whatever other tests of the session hold.
    made = authed.post(PATH, json=sl.job(compute={"name": "CPUNode", "size": 8}, scaling=scaling))
    assert made.status_code == 201, made.text
    look = []
    for _ in range(whole):
        sent = authed.post("/serverless/batch", json={}, headers={"Prefer": "respond-async"})
        assert sent.status_code == 202
        look.append({"X-Inference-Id": sent.json()["Id"]})
    # Each is at work on a replica of its own.
    for headers in look:
        assert authed.get("/serverless/status/batch", headers=headers).json()["Status"] == (
            "Inference"
        )
    # B300 had room for exactly these replicas; one unit taken leaves too little
    # (what other tests of the session hold only leaves less).
    taken = sl.deployment("taker", compute={"name": "B300", "size": 1})
    assert authed.post("/v1/container-deployments", json=taken).status_code in (201, 400)
    moved = authed.patch(f"{PATH}/batch", json={"compute": {"name": "B300", "size": 8}})
    assert moved.status_code == 400 and "capacity" in moved.json()["message"]
