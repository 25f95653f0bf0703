"""Helpers for the volume tests: create and read volumes, deploy instances."""

from __future__ import annotations

MISSING = "00000000-0000-4000-8000-000000000000"


def create(client, **fields) -> str:
    body = {"type": "NVMe", "name": "data", "size": 50, "location_code": "FIN-01", **fields}
    response = client.post("/v1/volumes", json=body)
    assert response.status_code == 202, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert '"' not in response.text and len(response.text) == 36
    return response.text


def get(client, volume_id: str) -> dict:
    response = client.get(f"/v1/volumes/{volume_id}")
    assert response.status_code == 200, response.text
    return response.json()


def act(client, action: str, ids, **fields):
    return client.put("/v1/volumes", json={"action": action, "id": ids, **fields})


def ok(client, action: str, ids, **fields) -> None:
    """An action that creates no volume: 202 with the JSON list of none."""
    response = act(client, action, ids, **fields)
    assert response.status_code == 202, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == []


def listed(client, path: str = "/v1/volumes") -> list[str]:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return [v["id"] for v in response.json()]


def deploy(client, location: str = "FIN-01", **fields) -> str:
    body = {
        "instance_type": "CPU.4V.16G",
        "image": "ubuntu-24.04",
        "hostname": "h",
        "description": "",
        "location_code": location,
        **fields,
    }
    response = client.post("/v1/instances", json=body)
    assert response.status_code == 202, response.text
    return response.text


def make_instances(live, client, count: int = 1, running: bool = False, **fields) -> list[str]:
    """Deployed instances, running after 3 s of server clock, then shut down unless asked."""
    ids = [deploy(client, **fields) for _ in range(count)]
    live.clock.advance(3.1)
    if not running:
        for instance_id in ids:
            response = client.put("/v1/instances", json={"action": "shutdown", "id": instance_id})
            assert response.status_code == 202, response.text
    return ids


def get_instance(client, instance_id: str) -> dict:
    response = client.get(f"/v1/instances/{instance_id}")
    assert response.status_code == 200, response.text
    return response.json()


def summary(client, instance_id: str) -> dict:
    """What a volume says about an instance it is attached to."""
    body = get_instance(client, instance_id)
    keys = ("id", "ip", "instance_type", "status", "os_volume_id", "hostname")
    return {**{k: body[k] for k in keys}, "auto_rental_extension": None}


def has(body: dict, **expected) -> None:
    """The body holds these values (a plain assert: support modules aren't rewritten)."""
    actual = {k: body.get(k, "<absent>") for k in expected}
    assert actual == expected, f"{actual} != {expected}"
