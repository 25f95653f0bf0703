"""A deployment's endpoint: the echo responder, asynchronous requests, the queue,
and autoscaling by queue load, all by the (frozen) server clock."""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.support import serverless as sl
from tests.support.live import LiveServer

pytestmark = pytest.mark.usefixtures("gives_back")

DEPLOYMENTS = "/v1/container-deployments"
WORK = 1  # the `fast` profile's serverless_inference_seconds
ASYNC = {"Prefer": "respond-async"}


def deploy(client: httpx.Client, name: str = "web", **scaling: Any) -> dict[str, Any]:
    response = client.post(DEPLOYMENTS, json=sl.deployment(name, scaling=sl.scaling(**scaling)))
    assert response.status_code == 201, response.text
    return dict(response.json())


def endpoint(made: dict[str, Any]) -> str:
    """The path of `endpoint_base_url` on this server (the client's base is its origin)."""
    url = httpx.URL(made["endpoint_base_url"])
    return url.path


def send(client: httpx.Client, made: dict[str, Any], path: str = "/predict", **kw: Any) -> str:
    response = client.post(endpoint(made) + path, json=kw.pop("json", {"x": 1}), headers=ASYNC)
    assert response.status_code == 202, response.text
    assert response.json()["Status"] in ("Queue", "Inference")
    return str(response.json()["Id"])


def status_of(client: httpx.Client, name: str, request_id: str) -> dict[str, Any]:
    response = client.get(f"/serverless/status/{name}", headers={"X-Inference-Id": request_id})
    assert response.status_code == 200, response.text
    return dict(response.json())


def replica_count(client: httpx.Client, name: str = "web") -> int:
    response = client.get(f"{DEPLOYMENTS}/{name}/replicas")
    assert response.status_code == 200, response.text
    return len(response.json()["list"])


def test_an_async_request_is_queued_worked_on_and_echoed(
    authed: httpx.Client, live: LiveServer
) -> None:
    made = deploy(authed)
    url = endpoint(made)
    assert url == "/serverless/web"
    response = authed.post(
        url + "/v1/chat?stream=false&tag=a&tag=b",
        json={"prompt": "hi"},
        headers={**ASYNC, "X-Custom": "yes"},
    )
    assert response.status_code == 202
    request_id = response.json()["Id"]
    assert status_of(authed, "web", request_id) == {
        "Id": request_id,
        "Status": "Inference",
        "Outcome": None,
    }
    early = authed.get("/serverless/result/web", headers={"X-Inference-Id": request_id})
    assert early.status_code == 409 and "not completed" in early.json()["message"]
    live.clock.advance(WORK - 0.001)
    assert status_of(authed, "web", request_id)["Status"] == "Inference"
    live.clock.advance(0.001)
    assert status_of(authed, "web", request_id)["Outcome"] == "completed"
    result = authed.get("/serverless/result/web", headers={"X-Inference-Id": request_id})
    assert result.status_code == 200
    echoed = result.json()
    assert echoed["method"] == "POST" and echoed["path"] == "/v1/chat"
    assert echoed["query"] == {"stream": ["false"], "tag": ["a", "b"]}
    assert echoed["json"] == {"prompt": "hi"} and echoed["body"] is None
    assert echoed["headers"]["x-custom"] == "yes"
    assert "authorization" not in echoed["headers"]
    assert echoed["deployment"] == "web" and echoed["container"] == "random-logger-0"
    assert echoed["completed_at"] is not None


def test_a_sync_request_is_answered_once_a_replica_has_worked_on_it(
    authed: httpx.Client, live: LiveServer
) -> None:
    made = deploy(authed)
    answers: list[httpx.Response] = []
    worker = threading.Thread(
        target=lambda: answers.append(authed.put(endpoint(made), content=b"plain text")),
    )
    worker.start()
    deadline = time.monotonic() + 30
    while worker.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
        live.clock.advance(0.5)
    worker.join(1)
    assert answers and answers[0].status_code == 200, answers
    echoed = answers[0].json()
    assert echoed["method"] == "PUT" and echoed["path"] == "/"
    assert echoed["body"] == "plain text" and echoed["json"] is None


def test_the_queue_load_scales_up_after_the_delay_and_down_after_its_own(
    authed: httpx.Client, live: LiveServer
) -> None:
    made = deploy(
        authed,
        min_replica_count=0,
        max_replica_count=3,
        scale_up_policy={"delay_seconds": 10},
        scale_down_policy={"delay_seconds": 60},
    )
    assert replica_count(authed) == 0
    ids = [send(authed, made) for _ in range(4) if live.tick() is None]
    live.clock.advance(10 - 0.001 - 0.003)  # the wish began with the first, 3 ms ago
    assert replica_count(authed) == 0
    assert {status_of(authed, "web", i)["Status"] for i in ids} == {"Queue"}
    live.clock.advance(0.001)
    # ceil(4 messages / threshold 1) = 4, capped at max 3.
    assert replica_count(authed) == 3
    statuses = [status_of(authed, "web", i)["Status"] for i in ids]
    assert statuses == ["Inference", "Inference", "Inference", "Queue"]
    live.clock.advance(WORK)
    # Three done; the fourth runs; one message wants one replica: down after 60 s.
    assert [status_of(authed, "web", i)["Status"] for i in ids][3] == "Inference"
    live.clock.advance(WORK)
    assert {status_of(authed, "web", i)["Outcome"] for i in ids} == {"completed"}
    assert replica_count(authed) == 3
    live.clock.advance(60 - WORK - 0.001)
    assert replica_count(authed) == 3
    live.clock.advance(0.001)
    assert replica_count(authed) == 0


def test_replicas_added_by_the_autoscaler_are_charged_from_their_instant(
    authed: httpx.Client, live: LiveServer
) -> None:
    made = deploy(
        authed,
        min_replica_count=0,
        max_replica_count=2,
        scale_up_policy={"delay_seconds": 0},
        scale_down_policy={"delay_seconds": 600},
    )
    before = Decimal(authed.get("/v1/balance").json()["amount"])
    send(authed, made)
    send(authed, made)
    # Two replicas from now until 600 s after both requests were done, then none.
    live.clock.advance(WORK + 600)
    assert replica_count(authed) == 0
    live.clock.advance(1200)
    after = Decimal(authed.get("/v1/balance").json()["amount"])
    price = Decimal(made_price(authed))
    expected = price * 2 * (WORK + 600) / 3600
    assert abs((before - after) - expected) < Decimal("0.01"), (before - after, expected)


def made_price(client: httpx.Client) -> str:
    resources = client.get("/v1/serverless-compute-resources").json()
    assert resources
    types = client.get("/v1/container-types").json()
    h100 = next(t for t in types if t["model"] == "H100")
    return str(h100["serverless_price"])


def test_a_message_not_done_within_its_ttl_expires(authed: httpx.Client, live: LiveServer) -> None:
    made = deploy(
        authed,
        min_replica_count=0,
        max_replica_count=1,
        scale_up_policy={"delay_seconds": 300},
        queue_message_ttl_seconds=300,
    )
    request_id = send(authed, made)
    live.clock.advance(300)
    assert status_of(authed, "web", request_id) == {
        "Id": request_id,
        "Status": "Completed",
        "Outcome": "expired",
    }
    result = authed.get("/serverless/result/web", headers={"X-Inference-Id": request_id})
    assert result.status_code == 503 and "expired" in result.json()["message"]
    # Expired before the replica came: none was ever added.
    assert replica_count(authed) == 0


def test_purge_queue_drops_what_waits_and_lets_what_runs_finish(
    authed: httpx.Client, live: LiveServer
) -> None:
    made = deploy(authed)
    running, *waiting = [send(authed, made) for _ in range(3) if live.tick() is None]
    assert authed.post(f"{DEPLOYMENTS}/web/purge-queue").status_code == 200
    assert [status_of(authed, "web", i)["Outcome"] for i in waiting] == ["purged", "purged"]
    live.clock.advance(WORK)
    assert status_of(authed, "web", running)["Outcome"] == "completed"
    result = authed.get("/serverless/result/web", headers={"X-Inference-Id": waiting[0]})
    assert result.status_code == 503 and "purged" in result.json()["message"]


def test_a_paused_deployment_refuses_requests_and_takes_them_after_resume(
    authed: httpx.Client,
) -> None:
    made = deploy(authed)
    assert authed.post(f"{DEPLOYMENTS}/web/pause").status_code == 200
    refused = authed.post(endpoint(made), json={}, headers=ASYNC)
    assert refused.status_code == 503 and "paused" in refused.json()["message"]
    assert authed.post(f"{DEPLOYMENTS}/web/resume").status_code == 200
    send(authed, made)


def test_unknown_names_other_projects_and_missing_tokens(
    authed: httpx.Client, http: httpx.Client, client_of: Any, live: LiveServer
) -> None:
    made = deploy(authed)
    request_id = send(authed, made)
    assert authed.post("/serverless/nope", json={}, headers=ASYNC).status_code == 404
    assert http.post(endpoint(made), json={}, headers=ASYNC).status_code == 401
    other = client_of(live.new_project())
    assert other.post(endpoint(made), json={}, headers=ASYNC).status_code == 404
    looked = other.get("/serverless/status/web", headers={"X-Inference-Id": request_id})
    assert looked.status_code == 404


def test_a_deployment_named_status_is_still_callable(authed: httpx.Client) -> None:
    made = deploy(authed, name="status")
    response = authed.post(endpoint(made) + "/x", json={}, headers=ASYNC)
    assert response.status_code == 202
    # Without X-Inference-Id, /serverless/status/... is a call to it too.
    assert authed.get("/serverless/status/x", headers=ASYNC).status_code == 202
    unknown = authed.get("/serverless/status/x", headers={"X-Inference-Id": "nope"})
    assert unknown.status_code == 404


def test_a_job_scales_out_per_message_and_back_to_none(
    authed: httpx.Client, live: LiveServer
) -> None:
    body = sl.job("batch", scaling={"max_replica_count": 2, "queue_message_ttl_seconds": 300,
                                    "deadline_seconds": 3600})  # fmt: skip
    response = authed.post("/v1/job-deployments", json=body)
    assert response.status_code == 201, response.text
    made = response.json()
    ids = [send(authed, made) for _ in range(3) if live.tick() is None]
    assert [status_of(authed, "batch", i)["Status"] for i in ids] == [
        "Inference",
        "Inference",
        "Queue",
    ]
    live.clock.advance(2 * WORK)
    assert {status_of(authed, "batch", i)["Outcome"] for i in ids} == {"completed"}


def test_a_deployment_read_through_the_sdk_runs_on_its_endpoint(
    live: LiveServer, project: Any, token: str, authed: httpx.Client
) -> None:
    """`VerdaClient(..., inference_key=...)` builds an inference client on each
    deployment it reads; `deployment.run_sync`/`run` call the endpoint."""
    from verda import VerdaClient

    deploy(authed)
    client = VerdaClient(
        project.client_id, project.client_secret, base_url=live.api_url, inference_key=token
    )
    deployment = client.containers.get_deployment_by_name("web")
    execution = deployment.run({"prompt": "async"}, path="v1/generate")
    live.clock.advance(WORK)
    assert execution.status_json()["Status"] == "Completed"
    assert execution.result()["json"] == {"prompt": "async"}
    answers: list[Any] = []
    worker = threading.Thread(
        target=lambda: answers.append(deployment.run_sync({"prompt": "sync"}, path="v1/generate"))
    )
    worker.start()
    deadline = time.monotonic() + 30
    while worker.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
        live.clock.advance(0.5)
    worker.join(1)
    assert answers and answers[0].status_code == 200
    assert answers[0].output()["json"] == {"prompt": "sync"}


def test_the_python_sdk_inference_client_round_trip(
    sdk: Any, token: str, authed: httpx.Client, live: LiveServer
) -> None:
    from verda.inference_client import InferenceClient

    made = deploy(authed)
    client = InferenceClient(inference_key=token, endpoint_base_url=made["endpoint_base_url"])
    execution = client.run({"prompt": "hello"}, path="generate")
    assert execution.status_json()["Status"] == "Inference"
    live.clock.advance(WORK)
    assert execution.status_json()["Status"] == "Completed"
    assert execution.status().value == "Completed"
    output = execution.result()
    assert output["json"] == {"prompt": "hello"} and output["path"] == "/generate"


def test_requests_of_a_deleted_deployment_are_dropped(authed: httpx.Client) -> None:
    made = deploy(authed, min_replica_count=0, scale_up_policy={"delay_seconds": 300})
    request_id = send(authed, made)
    assert authed.delete(f"{DEPLOYMENTS}/web").status_code in (200, 204)
    looked = authed.get("/serverless/status/web", headers={"X-Inference-Id": request_id})
    assert looked.status_code == 404
    assert authed.post(endpoint(made), json={}, headers=ASYNC).status_code == 404


def test_a_finished_request_is_kept_a_day_then_dropped(
    authed: httpx.Client, live: LiveServer, client_of: Any, project: Any
) -> None:
    made = deploy(authed)
    request_id = send(authed, made)
    live.clock.advance(WORK + 24 * 3600 - 0.001)
    fresh = client_of(project)  # the first token has expired meanwhile
    look = {"X-Inference-Id": request_id}
    send(fresh, made)
    assert fresh.get("/serverless/result/web", headers=look).status_code == 200
    live.clock.advance(0.002)
    send(fresh, made)
    assert fresh.get("/serverless/result/web", headers=look).status_code == 404


def test_a_terminating_job_refuses_requests(authed: httpx.Client) -> None:
    response = authed.post("/v1/job-deployments", json=sl.job("batch"))
    assert response.status_code == 201, response.text
    made = response.json()
    gone = authed.delete("/v1/job-deployments/batch", params={"timeout": 0})
    assert gone.status_code in (200, 204)
    refused = authed.post(endpoint(made), json={}, headers=ASYNC)
    assert refused.status_code == 503 and "terminating" in refused.json()["message"]


def test_nul_characters_in_a_call_are_echoed_as_replacement_characters(
    authed: httpx.Client, live: LiveServer
) -> None:
    """A NUL in the path or a non-JSON body is text PostgreSQL can't store: kept as
    U+FFFD, as bytes that are not UTF-8 are (a 500 there before)."""
    made = deploy(authed, scale_up_policy={"delay_seconds": 0})
    response = authed.post(
        endpoint(made) + "/a%00b",
        content=b"x\x00y\xff",
        headers={**ASYNC, "Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 202, response.text
    request_id = response.json()["Id"]
    live.clock.advance(WORK)
    result = authed.get("/serverless/result/web", headers={"X-Inference-Id": request_id})
    assert result.status_code == 200, result.text
    echoed = result.json()
    assert echoed["path"] == "/a\ufffdb" and echoed["body"] == "x\ufffdy\ufffd"


def test_a_trailing_slash_is_the_endpoint_itself(authed: httpx.Client, live: LiveServer) -> None:
    """Python's InferenceClient calls `<endpoint_base_url>/` when given no path
    (run and run_sync default to ''): answered, and in the document."""
    made = deploy(authed)
    response = authed.post(endpoint(made) + "/", json={"x": 1}, headers=ASYNC)
    assert response.status_code == 202, response.text
    live.clock.advance(WORK)
    request_id = response.json()["Id"]
    result = authed.get("/serverless/result/web", headers={"X-Inference-Id": request_id})
    assert result.status_code == 200 and result.json()["path"] == "/"


def test_a_call_waiting_for_the_writers_turn_leaves_the_server_answering(
    authed: httpx.Client, http: httpx.Client, live: LiveServer
) -> None:
    """The call writes in a worker thread: waiting for its turn never stalls the loop."""
    made = deploy(authed)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with live.context.db.write():
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(5)
    answers: list[httpx.Response] = []
    caller = threading.Thread(
        target=lambda: answers.append(authed.post(endpoint(made), json={}, headers=ASYNC))
    )
    caller.start()
    try:
        time.sleep(0.2)  # the call now waits for the writers' turn
        assert http.get("/healthz", timeout=3).status_code == 200
    finally:
        release.set()
        holder.join(5)
        caller.join(5)
    assert answers and answers[0].status_code == 202
