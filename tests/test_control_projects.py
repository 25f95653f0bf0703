"""The control API's projects and credentials: create, list, read, delete
(with everything in it), isolation, and revocation at once."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.support.live import Credentials, LiveServer, fresh_clients
from tests.support.tokens import bearer
from verda_server.auth.models import Credential, RefreshToken
from verda_server.billing.models import Funding, LedgerEntry, Meter
from verda_server.clusters.models import Cluster
from verda_server.instances.models import Instance
from verda_server.projects.models import Project
from verda_server.ssh_keys.models import SshKey
from verda_server.startup_scripts.models import StartupScript
from verda_server.tags.models import Tag
from verda_server.volumes.models import Volume

PROJECTS = "/_admin/v1/projects"
MISSING = "00000000-0000-4000-8000-000000000000"
KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGt3cVYc0Vx3VZzJ0n0Hf7t0vPpZq7J0PHRa1Bfv7rKx test@example"
)
# One unit on demand in FIN-01: whether it is free shows whose capacity is held.
SCARCE = "8L40S.160V"


def error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    return str(response.json()["message"])


def create(admin: httpx.Client, **body: Any) -> dict[str, Any]:
    response = admin.post(PROJECTS, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def credentials_of(created: dict[str, Any]) -> Credentials:
    pair = created["credential"]
    return Credentials(created["id"], pair["client_id"], pair["client_secret"])


def token_response(http: httpx.Client, client_id: str, secret: str) -> httpx.Response:
    return http.post(
        "/v1/oauth2/token",
        json={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )


def test_a_created_project_answers_its_first_pair_once(
    admin: httpx.Client, http: httpx.Client
) -> None:
    created = create(admin, name="team-a", balance="250.5", currency="eur")
    pair = created["credential"]
    assert created["name"] == "team-a" and created["is_default"] is False
    assert (created["balance"], created["currency"]) == ("250.5", "eur")
    assert pair["project_id"] == created["id"] and len(pair["client_secret"]) >= 32
    assert created["credentials"] == [
        {"client_id": pair["client_id"], "created_at": pair["created_at"]}
    ]
    assert created["quotas"]["instances"] == {
        "quota": 50,
        "used": 0,
        "hard_max": 10_000,
        "default": 50,
    }
    assert {k: v["quota"] for k, v in created["quotas"].items()} == {
        "startup_scripts": 100,
        "instances": 50,
        "volumes": 100,
        "clusters": 5,
    }
    token = credentials_of(created).access_token(http)
    balance = http.get("/v1/balance", headers=bearer(token))
    assert balance.json() == {"amount": 250.5, "currency": "eur"}
    # Read back, listed: client ids, never the secret.
    read = admin.get(f"{PROJECTS}/{created['id']}")
    assert read.status_code == 200
    assert pair["client_secret"] not in read.text
    assert read.json() == {k: v for k, v in created.items() if k != "credential"}
    listed = admin.get(PROJECTS)
    assert created["id"] in [p["id"] for p in listed.json()]
    assert pair["client_secret"] not in listed.text


def test_defaults_quotas_a_known_pair_and_no_pair(admin: httpx.Client, http: httpx.Client) -> None:
    plain = create(admin)
    assert (plain["name"], plain["balance"], plain["currency"]) == ("Project", "1000", "usd")
    quoted = create(admin, quotas={"instances": 3, "clusters": 0}, credentials=False)
    assert quoted["credential"] is None and quoted["credentials"] == []
    assert quoted["quotas"]["instances"]["quota"] == 3
    assert quoted["quotas"]["clusters"]["quota"] == 0
    assert quoted["quotas"]["volumes"]["quota"] == 100
    known = create(admin, client_id=f"known-{plain['id'][:8]}", client_secret="s3cret-Pair!")
    assert known["credential"]["client_secret"] == "s3cret-Pair!"
    response = token_response(http, known["credential"]["client_id"], "s3cret-Pair!")
    assert response.status_code == 200
    taken = admin.post(
        PROJECTS, json={"client_id": known["credential"]["client_id"], "client_secret": "x"}
    )
    assert "taken" in error(taken, 409, "conflict")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"currency": "gbp"}, "currency"),
        ({"balance": "-1"}, "balance: must be a number from 0"),
        ({"balance": "1.0000000000001"}, "more than 12 decimal places"),
        ({"balance": 10**12}, "balance"),
        ({"balance": "lots"}, "balance"),
        ({"name": ""}, "name"),
        ({"quotas": {"instances": 10_001}}, "instances"),
        ({"quotas": {"startup_scripts": 1001}}, "startup_scripts"),
        ({"quotas": {"volumes": True}}, "volumes"),
        ({"quotas": {"instance": 3}}, "instance"),
        ({"client_id": "only-the-id"}, "give both client_id and client_secret"),
        ({"client_id": "has space", "client_secret": "x"}, "client_id"),
        ({"client_id": "a" * 129, "client_secret": "x"}, "client_id"),
        ({"credentials": False, "client_id": "a", "client_secret": "x"}, "credentials false"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_creations_are_refused_and_create_nothing(
    live: LiveServer, admin: httpx.Client, body: dict[str, Any], message: str
) -> None:
    with live.context.db.read() as session:
        before = session.scalar(select(func.count()).select_from(Project))
    assert message in error(admin.post(PROJECTS, json=body), 400, "invalid_request")
    with live.context.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Project)) == before


ROUTES = [
    ("GET", "", None),
    ("DELETE", "", None),
    ("GET", "/quotas", None),
    ("PUT", "/quotas", {"instances": 1}),
    ("GET", "/credentials", None),
    ("POST", "/credentials", {}),
    ("DELETE", "/credentials/some-client", None),
    ("GET", "/balance", None),
    ("POST", "/balance", {"amount": "1"}),
]


@pytest.mark.parametrize(("method", "suffix", "body"), ROUTES)
def test_an_unknown_project_is_not_found(
    admin: httpx.Client, method: str, suffix: str, body: Any
) -> None:
    response = admin.request(method, f"{PROJECTS}/{MISSING}{suffix}", json=body)
    assert f"Project {MISSING} not found" in error(response, 404, "not_found")


@pytest.mark.parametrize(
    ("method", "suffix", "body"), [("LIST", "", None), ("CREATE", "", {}), *ROUTES]
)
def test_no_route_opens_without_the_admin_token(
    live: LiveServer,
    admin_contract: Any,
    http: httpx.Client,
    project: Credentials,
    method: str,
    suffix: str,
    body: Any,
) -> None:
    from tests.conftest import checked_client

    path = f"{PROJECTS}/{project.project_id}{suffix}"
    if method in ("LIST", "CREATE"):
        method, path = ("GET" if method == "LIST" else "POST"), PROJECTS
    for sent in (None, project.access_token(http), "vsa_wrong"):
        with checked_client(live.base_url, admin_contract, sent) as client:
            error(client.request(method, path, json=body), 401, "unauthorized_request")
    with live.context.db.read() as session:
        assert session.get(Project, project.project_id) is not None


def test_projects_made_here_are_isolated(admin: httpx.Client, clients: Any, http: Any) -> None:
    one, two = (credentials_of(create(admin)) for _ in range(2))
    first, second = clients(one.access_token(http)), clients(two.access_token(http))
    key = first.post("/v1/sshkeys", json={"name": "k", "key": KEY})
    assert key.status_code == 201, key.text
    key_id = key.text.strip('"')
    instance = first.post(
        "/v1/instances",
        json={
            "instance_type": "CPU.4V.16G",
            "image": "ubuntu-24.04",
            "hostname": "mine",
            "description": "mine",
            "location_code": "FIN-01",
        },
    )
    assert instance.status_code == 202, instance.text
    assert [k["id"] for k in first.get("/v1/sshkeys").json()] == [key_id]
    assert second.get("/v1/sshkeys").json() == []
    assert second.get("/v1/instances").json() == []
    error(second.get(f"/v1/sshkeys/{key_id}"), 404, "not_found")
    error(second.get(f"/v1/instances/{instance.text}"), 404, "not_found")
    counted = admin.get(f"{PROJECTS}/{two.project_id}").json()["quotas"]
    assert counted["instances"]["used"] == 0 and counted["volumes"]["used"] == 0
    counted = admin.get(f"{PROJECTS}/{one.project_id}").json()["quotas"]
    assert counted["instances"]["used"] == 1 and counted["volumes"]["used"] == 1
    # Capacity is shared by every test: give it back.
    assert admin.delete(f"{PROJECTS}/{one.project_id}").status_code == 204


def test_credentials_are_added_listed_and_revoked_at_once(
    live: LiveServer, admin: httpx.Client, http: httpx.Client
) -> None:
    created = create(admin)
    first = credentials_of(created)
    path = f"{PROJECTS}/{first.project_id}/credentials"
    live.tick()  # listed oldest first
    added = admin.post(path)
    assert added.status_code == 201
    second = added.json()
    assert second["project_id"] == first.project_id
    live.tick()
    known = admin.post(path, json={"client_id": f"ci-{first.project_id}", "client_secret": "pw1"})
    assert known.status_code == 201 and known.json()["client_secret"] == "pw1"
    listed = admin.get(path)
    assert [c["client_id"] for c in listed.json()] == [
        first.client_id,
        second["client_id"],
        f"ci-{first.project_id}",
    ]
    assert first.client_secret not in listed.text and "pw1" not in listed.text
    issued = first.token_response(http)
    token = str(issued["access_token"])
    kept = token_response(http, second["client_id"], second["client_secret"]).json()
    assert http.get("/v1/balance", headers=bearer(token)).status_code == 200

    revoked = admin.delete(f"{path}/{first.client_id}")
    assert revoked.status_code == 204 and revoked.content == b""
    # The very next request with the same token: refused, and so is its refresh token.
    error(http.get("/v1/balance", headers=bearer(token)), 401, "unauthorized_request")
    refresh = {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]}
    error(http.post("/v1/oauth2/token", json=refresh), 401, "unauthorized_request")
    error(token_response(http, first.client_id, first.client_secret), 401, "unauthorized_request")
    # The project's other credentials go on.
    assert http.get("/v1/balance", headers=bearer(kept["access_token"])).status_code == 200
    assert [c["client_id"] for c in admin.get(path).json()] == [
        second["client_id"],
        f"ci-{first.project_id}",
    ]
    error(admin.delete(f"{path}/{first.client_id}"), 404, "not_found")


def test_a_credential_is_revoked_only_through_its_own_project(
    admin: httpx.Client, http: httpx.Client
) -> None:
    mine, other = credentials_of(create(admin)), credentials_of(create(admin))
    wrong = admin.delete(f"{PROJECTS}/{other.project_id}/credentials/{mine.client_id}")
    assert "not found in project" in error(wrong, 404, "not_found")
    assert http.get("/v1/balance", headers=bearer(mine.access_token(http))).status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"client_id": "x"}, "give both"),
        ({"client_secret": "x"}, "give both"),
        ({"client_id": "a b", "client_secret": "x"}, "client_id"),
        ({"client_id": "ok-id", "client_secret": "é"}, "client_secret"),
        ({"client_id": "ok-id", "client_secret": "x" * 257}, "client_secret"),
        ({"client": "x"}, "client"),
    ],
)
def test_bad_credentials_are_refused(
    admin: httpx.Client, body: dict[str, Any], message: str
) -> None:
    created = create(admin)
    path = f"{PROJECTS}/{created['id']}/credentials"
    assert message in error(admin.post(path, json=body), 400, "invalid_request")
    assert len(admin.get(path).json()) == 1


def test_a_known_client_id_is_taken_across_projects(admin: httpx.Client) -> None:
    mine = credentials_of(create(admin))
    other = create(admin)
    taken = admin.post(
        f"{PROJECTS}/{other['id']}/credentials",
        json={"client_id": mine.client_id, "client_secret": "x"},
    )
    assert "taken" in error(taken, 409, "conflict")


def _available(client: httpx.Client) -> bool:
    response = client.get(f"/v1/instance-availability/{SCARCE}", params={"location_code": "FIN-01"})
    assert response.status_code == 200
    return bool(response.json())


def test_deleting_a_project_takes_everything_in_it(
    live: LiveServer, admin: httpx.Client, clients: Any, http: httpx.Client, project: Credentials
) -> None:
    from tests.support import clusters

    doomed = credentials_of(create(admin))
    fresh = fresh_clients(live, clients, http)
    mine, bystander = fresh(doomed), fresh(project)
    script = mine.post("/v1/scripts", json={"name": "s", "script": "#!/bin/sh\necho"})
    assert script.status_code == 201, script.text
    assert mine.post("/v1/sshkeys", json={"name": "k", "key": KEY}).status_code == 201
    assert _available(bystander)
    deployed = mine.post(
        "/v1/instances",
        json={
            "instance_type": SCARCE,
            "image": "ubuntu-24.04",
            "hostname": "big",
            "description": "big",
            "location_code": "FIN-01",
            "volumes": [{"name": "data", "size": 10, "type": "NVMe"}],
            "tags": [{"key": "team", "value": "a"}],
        },
    )
    assert deployed.status_code == 202, deployed.text
    volume = mine.post(
        "/v1/volumes", json={"type": "HDD", "name": "v", "size": 10, "location_code": "FIN-01"}
    )
    assert volume.status_code == 202, volume.text
    cluster_id = clusters.deploy(mine)
    live.clock.advance(3600)  # billing charges something
    token = doomed.access_token(http)
    assert mine.get("/v1/balance").status_code == 200
    assert not _available(bystander)

    assert admin.delete(f"{PROJECTS}/{doomed.project_id}").status_code == 204
    error(http.get("/v1/balance", headers=bearer(token)), 401, "unauthorized_request")
    error(admin.get(f"{PROJECTS}/{doomed.project_id}"), 404, "not_found")
    assert doomed.project_id not in [p["id"] for p in admin.get(PROJECTS).json()]
    assert _available(bystander)
    with live.context.db.read() as session:
        for model in (
            Instance,
            Volume,
            Cluster,
            SshKey,
            StartupScript,
            Tag,
            Credential,
            RefreshToken,
            Meter,
            LedgerEntry,
            Funding,
        ):
            left = session.scalar(
                select(func.count()).select_from(model).where(model.project_id == doomed.project_id)  # type: ignore[attr-defined]
            )
            assert left == 0, model.__name__
        assert session.get(Cluster, cluster_id) is None
    error(admin.delete(f"{PROJECTS}/{doomed.project_id}"), 404, "not_found")
    # The bystander's things were never touched.
    assert bystander.get("/v1/balance").status_code == 200


def test_the_default_project_is_not_deleted(live: LiveServer, admin: httpx.Client) -> None:
    with live.context.db.read() as session:
        default = session.scalar(select(Project.id).where(Project.is_default.is_(True)))
    assert default is not None
    message = error(admin.delete(f"{PROJECTS}/{default}"), 403, "forbidden_action")
    assert "default project" in message
    assert admin.get(f"{PROJECTS}/{default}").json()["is_default"] is True
