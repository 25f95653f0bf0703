"""What the bench asks of a running server to set up what it measures: the
public API (tokens, deploys) and the control API (projects, quotas, money,
capacity, rate limits, resets)."""

from __future__ import annotations

import base64
import os
import struct
from dataclasses import dataclass
from typing import Any

import httpx

from servers import ADMIN_TOKEN, SetupError

INSTANCE_TYPE = "CPU.4V.16G"
LOCATIONS = ["FIN-01", "ICE-01", "FIN-02", "FIN-03"]
# The catalog never evicts a spot instance here.
SPOT_LOCATION = "FIN-01"
MANY = 1_000_000


@dataclass(frozen=True)
class Project:
    id: str
    token: str


def ssh_public_key() -> str:
    """An ed25519 public key line of the form the server accepts."""
    name = b"ssh-ed25519"
    blob = struct.pack(">I", len(name)) + name + struct.pack(">I", 32) + os.urandom(32)
    return f"ssh-ed25519 {base64.b64encode(blob).decode()} bench"


class Api:
    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=120)

    def close(self) -> None:
        self.http.close()

    def _checked(self, response: httpx.Response, what: str) -> Any:
        if response.status_code >= 300:
            raise SetupError(f"{what}: {response.status_code} {response.text[:500]}")
        return response.json() if response.content else None

    def admin(self, method: str, path: str, body: object = None) -> Any:
        response = self.http.request(
            method,
            "/_admin/v1" + path,
            json=body,
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        return self._checked(response, f"control API {method} {path}")

    def public(self, token: str, method: str, path: str, body: object = None) -> Any:
        response = self.http.request(
            method, path, json=body, headers={"Authorization": f"Bearer {token}"}
        )
        return self._checked(response, f"{method} {path}")

    def token(self, client_id: str, client_secret: str) -> str:
        grant = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        }
        response = self.http.post("/v1/oauth2/token", json=grant)
        return str(self._checked(response, "token grant")["access_token"])

    def default_project_id(self) -> str:
        projects = self.admin("GET", "/projects")
        items = projects["items"] if isinstance(projects, dict) else projects
        return str(next(p["id"] for p in items if p["is_default"]))

    def new_project(self, name: str) -> Project:
        """A project with room for every deploy the bench sends, and the money."""
        created = self.admin(
            "POST",
            "/projects",
            {"name": name, "balance": "1000000000", "quotas": roomy_quotas()},
        )
        credential = created["credential"]
        return Project(
            created["id"], self.token(credential["client_id"], credential["client_secret"])
        )

    def make_roomy(self, project_id: str) -> None:
        self.admin("PUT", f"/projects/{project_id}/quotas", roomy_quotas())
        self.admin("POST", f"/projects/{project_id}/balance", {"amount": "1000000000"})

    def raise_capacity(self) -> None:
        units = {"on_demand": MANY, "spot": MANY}
        locations = {code: {"instances": {INSTANCE_TYPE: units}} for code in LOCATIONS}
        self.admin("PUT", "/capacity", {"locations": locations})

    def raise_rate_limits(self, project_id: str) -> None:
        body = {"project": MANY, "endpoint": MANY}
        self.admin("PUT", f"/projects/{project_id}/rate-limits", body)

    def reset(self, project_id: str) -> None:
        self.admin("POST", "/reset", {"project_id": project_id})

    def advance_clock(self, seconds: float) -> None:
        self.admin("POST", "/clock/advance", {"seconds": seconds})

    def deploy(self, token: str, location: str, spot: bool = False) -> str:
        body = {
            "instance_type": INSTANCE_TYPE,
            "image": "ubuntu-24.04",
            "hostname": "bench",
            "description": "bench",
            "location_code": location,
            "is_spot": spot,
        }
        response = self.http.post(
            "/v1/instances", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        if response.status_code != 202:
            raise SetupError(f"deploy: {response.status_code} {response.text[:500]}")
        return response.text.strip().strip('"')

    def add_volume(self, token: str, n: int) -> None:
        body = {"type": "NVMe", "name": f"data-{n}", "size": 100, "location_code": LOCATIONS[0]}
        response = self.http.post(
            "/v1/volumes", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        if response.status_code >= 300:
            raise SetupError(f"volume: {response.status_code} {response.text[:500]}")

    def delete_instances_but(self, token: str, keep: set[str]) -> None:
        """Every listed instance not in `keep` gone from the list, whether still
        provisioning (delete_stuck) or running by now (delete)."""
        for _ in range(3):
            listed = self.public(token, "GET", "/v1/instances")
            doomed = [i for i in listed if i["id"] not in keep]
            if not doomed:
                return
            for action, provisioning in (("delete_stuck", True), ("delete", False)):
                ids = [i["id"] for i in doomed if (i["status"] == "provisioning") is provisioning]
                if ids:  # one that moved on meanwhile is refused, and tried again
                    self.http.put(
                        "/v1/instances",
                        json={"action": action, "id": ids},
                        headers={"Authorization": f"Bearer {token}"},
                    )
        raise SetupError("could not delete the instances a round deployed")

    def delete_ssh_keys(self, token: str) -> None:
        keys = [k["id"] for k in self.public(token, "GET", "/v1/sshkeys")]
        if keys:
            self.public(token, "DELETE", "/v1/sshkeys", {"keys": keys})


def roomy_quotas() -> dict[str, int]:
    return {"instances": 10_000, "volumes": 10_000}
