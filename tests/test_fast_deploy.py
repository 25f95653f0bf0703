"""`POST /v1/instances` answered before routing (instances/fast_deploy.py)
answers exactly what the route answers: the same status, body and headers for
a deploy made, refused by a check, refused by the model, or unauthenticated,
and it is logged, counted and journalled as the route."""

from __future__ import annotations

import pytest

from tests.test_instances import deploy_body
from verda_server.instances.fast_deploy import FastDeploy
from verda_server.projects import quotas

pytestmark = pytest.mark.usefixtures("gives_back")
# What differs between two answers of the same request anyway.
_OWN = {"x-request-id", "date", "ratelimit", "ratelimit-policy"}


def _fast(live) -> FastDeploy:
    node = live.server.app.middleware_stack
    while not isinstance(node, FastDeploy):
        node = node.app
    return node


def _answer(response) -> tuple[int, dict[str, str], object]:
    headers = {k: v for k, v in response.headers.items() if k not in _OWN}
    content = response.json() if response.status_code >= 400 else "<id>"
    return response.status_code, headers, content


REQUESTS = {
    "made": ({"json": deploy_body()}, 202),
    "unknown type": ({"json": deploy_body(instance_type="NOPE")}, 400),
    "model refuses": ({"json": {**deploy_body(), "hostname": 7}}, 400),
    "missing field": ({"json": {"image": "ubuntu-24.04"}}, 400),
    "not an object": ({"json": [1, 2]}, 400),
    "empty": ({"content": b"", "headers": {"content-type": "application/json"}}, 400),
    "form": ({"data": {"instance_type": "CPU.4V.16G"}}, 400),
    "quota": ({"json": deploy_body(location_code="FIN-02")}, 403),
}


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_the_fast_path_answers_as_the_route(live, client_of, http, name):
    creds = live.new_project(balance="100000")
    with live.context.db.write() as session:
        quotas.set_quotas(session, creds.project_id, {quotas.Kind.INSTANCES: 2})
    client = client_of(creds)
    kwargs, status = REQUESTS[name]
    fast = _fast(live)
    assert client.post("/v1/instances", json=deploy_body()).status_code == 202
    assert fast._route is not None  # learnt from a routed deploy by now
    if name == "quota":  # the project's second and last instance first
        assert client.post("/v1/instances", json=deploy_body()).status_code == 202
        assert client.post("/v1/instances", json=deploy_body()).status_code == 403
    answered = client.post("/v1/instances", **kwargs)
    learnt, fast._route = fast._route, None  # the route answers while it is unknown
    try:
        if name == "made":
            # Its quota of two spent by the fast path's deploy: room for one more.
            with live.context.db.write() as session:
                quotas.set_quotas(session, creds.project_id, {quotas.Kind.INSTANCES: 3})
        routed = client.post("/v1/instances", **kwargs)
    finally:
        fast._route = learnt
    assert answered.status_code == status, answered.text
    assert _answer(answered) == _answer(routed)


def test_without_a_token_the_route_answers(live, http):
    fast = _fast(live)
    response = http.post("/v1/instances", json=deploy_body())
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized_request"
    assert fast._route is None or fast._route.endpoint.__name__ == "deploy_instance"


def _remaining(response) -> list[int]:
    """What the project and the endpoint have left ("project";r=N;t=T, ...)."""
    return [
        int(part.split(";r=")[1].split(";")[0]) for part in response.headers["ratelimit"].split(",")
    ]


def test_a_fast_deploy_is_journalled_and_counted_once_as_its_route(live, client_of, admin):
    creds = live.new_project(balance="100000")
    client = client_of(creds)
    left = []
    for _ in range(3):
        response = client.post("/v1/instances", json=deploy_body())
        assert response.status_code == 202, response.text
        left.append(_remaining(response))
    assert _fast(live)._route is not None
    # Each deploy counted once against the project and the endpoint, routed or not.
    assert [[a - b for a, b in zip(left[n], left[n + 1], strict=True)] for n in range(2)] == [
        [1, 1],
        [1, 1],
    ]
    journal = admin.get(f"/_admin/v1/projects/{creds.project_id}/journal").json()["entries"]
    deploys = [e for e in journal if e["method"] == "POST" and e["path"] == "/v1/instances"]
    assert [e["status"] for e in deploys] == [202, 202, 202]
    assert {e["route"] for e in deploys} == {"/v1/instances"}
