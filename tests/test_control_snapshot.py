"""POST /_admin/v1/reset and GET / POST /_admin/v1/snapshot.

Both change server-wide state, so every test here runs servers of its own.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import checked_client
from tests.support import clusters
from tests.support import volumes as vols
from tests.support.cli import admin_cli
from tests.support.keys import ed25519_key
from tests.support.live import (
    ADMIN_TOKEN,
    TLS,
    Credentials,
    FreshToken,
    LiveServer,
    start_live_server,
)
from verda_server.api.guard import MAX_BODY_BYTES
from verda_server.billing.funds import set_balance
from verda_server.config import sqlite_url
from verda_server.projects.models import Project

BOOT = 3.1
# What a project's client sees of its state: every list the public API has.
VIEWS = (
    "/v1/instances",
    "/v1/volumes",
    "/v1/volumes/trash",
    "/v1/sshkeys",
    "/v1/scripts",
    "/v1/clusters",
    "/v1/secrets",
    "/v1/file-secrets",
    "/v1/container-registry-credentials",
    "/v1/balance",
)


@pytest.fixture
def server(empty_database_url: str) -> Iterator[LiveServer]:
    with start_live_server(empty_database_url) as live:
        yield live


@pytest.fixture
def admin_of(admin_contract: Any) -> Iterator[Any]:
    made: list[httpx.Client] = []

    def make(live: LiveServer) -> httpx.Client:
        made.append(checked_client(live.base_url, admin_contract, ADMIN_TOKEN))
        return made[-1]

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client_for(contract: Any) -> Iterator[Any]:
    """A checked client of `live` carrying `token`, or tokens of `creds` that
    outlive clock moves."""
    made: list[httpx.Client] = []

    def make(live: LiveServer, creds: Credentials | None = None, token: str = "") -> httpx.Client:
        if creds is None:
            made.append(checked_client(live.base_url, contract, token))
            return made[-1]
        made.append(httpx.Client(verify=TLS, base_url=live.base_url))
        made.append(checked_client(live.base_url, contract))
        made[-1].auth = FreshToken(live, made[-2], creds)
        return made[-1]

    yield make
    for client in made:
        client.close()


def default_credentials(live: LiveServer) -> Credentials:
    boot = live.server.bootstrap
    assert boot.client_secret is not None
    return Credentials(boot.project_id, boot.client_id, boot.client_secret)


def token_of(live: LiveServer, creds: Credentials) -> str:
    with httpx.Client(verify=TLS, base_url=live.base_url) as http:
        return creds.access_token(http)


def populate(live: LiveServer, client: httpx.Client, name: str) -> dict[str, str]:
    """One of everything a project can hold, with a running bill."""
    made = {
        "key": client.post("/v1/sshkeys", json={"name": name, "key": ed25519_key()}).text,
        "script": client.post("/v1/scripts", json={"name": name, "script": "echo hi"}).text,
    }
    serverless = (
        ("/v1/secrets", {"name": f"{name}-env", "value": "v"}),
        (
            "/v1/file-secrets",
            {"name": f"{name}-files", "files": [{"file_name": "a", "base64_content": "YQ=="}]},
        ),
        (
            "/v1/container-registry-credentials",
            {"name": name, "type": "gcr", "service_account_key": "{}"},
        ),
    )
    for path, body in serverless:
        response = client.post(path, json=body)
        assert response.status_code == 201, response.text
    made["instance"] = vols.deploy(
        client,
        hostname=name,
        ssh_key_ids=[made["key"]],
        startup_script_id=made["script"],
        volumes=[{"name": f"{name}-data", "size": 50, "type": "NVMe"}],
    )
    live.clock.advance(BOOT)
    made["volume"] = vols.create(client, name=f"{name}-spare")
    trashed = vols.create(client, name=f"{name}-old")
    live.tick()
    vols.ok(client, "delete", [trashed])
    made["cluster"] = clusters.deploy(client, hostname=name, ssh_key_ids=[made["key"]])
    for kind, rid in (("instances", made["instance"]), ("volumes", made["volume"])):
        response = client.post(f"/v1/{kind}/{rid}/tags", json={"key": "env", "value": name})
        assert response.status_code == 201, response.text
    live.clock.advance(1800.25)  # a bill that has run for a while
    return made


def views(client: httpx.Client) -> dict[str, Any]:
    seen = {}
    for path in VIEWS:
        response = client.get(path)
        assert response.status_code == 200, response.text
        seen[path] = response.json()
    return seen


def snapshot(admin: httpx.Client) -> dict[str, Any]:
    response = admin.get("/_admin/v1/snapshot")
    assert response.status_code == 200, response.text
    return dict(response.json())


def import_snapshot(admin: httpx.Client, document: Any, **params: str) -> httpx.Response:
    return admin.post("/_admin/v1/snapshot", json=document, params=params)


def reset(admin: httpx.Client, **body: Any) -> dict[str, Any]:
    response = admin.post("/_admin/v1/reset", json=body or None)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_snapshot_reset_import_gives_back_the_same_state(
    server: LiveServer, admin_of: Any, client_for: Any
) -> None:
    admin = admin_of(server)
    mine, default = server.new_project(balance="750.5"), default_credentials(server)
    clients = {c.project_id: client_for(server, c) for c in (mine, default)}
    for index, client in enumerate(clients.values()):
        populate(server, client, f"p{index}")
    # Tokens issued before the export: one on each project.
    with httpx.Client(verify=TLS, base_url=server.base_url) as http:
        tokens = {c.project_id: c.token_response(http) for c in (mine, default)}
    before = snapshot(admin)
    seen = {pid: views(client_for(server, token=t["access_token"])) for pid, t in tokens.items()}
    assert len(before["tables"]["instances"]) == 2
    assert before["control"]["clock"]["frozen_at"] is not None

    assert reset(admin, drop_projects=True)["projects_dropped"] == 1
    gone = client_for(server, token=tokens[mine.project_id]["access_token"]).get("/v1/instances")
    assert gone.status_code == 401
    assert snapshot(admin) != before

    response = import_snapshot(admin, before)
    assert response.status_code == 200, response.text
    assert response.json()["imported"] == {n: len(rows) for n, rows in before["tables"].items()}
    assert snapshot(admin) == before
    for pid, token in tokens.items():
        assert views(client_for(server, token=token["access_token"])) == seen[pid]
    # The refresh token from before the export still refreshes once.
    with httpx.Client(verify=TLS, base_url=server.base_url) as http:
        refreshed = http.post(
            "/v1/oauth2/token",
            json={
                "grant_type": "refresh_token",
                "refresh_token": tokens[mine.project_id]["refresh_token"],
            },
        )
    assert refreshed.status_code == 200, refreshed.text


def test_the_imported_state_lives_on(server: LiveServer, admin_of: Any, client_for: Any) -> None:
    """What was due after the export still happens after an import: timers,
    bills, and capacity held by the imported resources."""
    admin, creds = admin_of(server), server.new_project()
    client = client_for(server, creds)
    made = populate(server, client, "x")
    instance = vols.get_instance(client, made["instance"])
    document = snapshot(admin)
    reset(admin, drop_projects=True)
    assert import_snapshot(admin, document).status_code == 200
    server.clock.advance(3600)
    client = client_for(server, creds)
    assert vols.get_instance(client, made["instance"])["status"] == "running"
    balance = Decimal(str(client.get("/v1/balance").json()["amount"]))
    assert balance < Decimal(1000)
    # The imported instance holds its address: a new one gets another.
    other = vols.deploy(client)
    assert vols.get_instance(client, other)["ip"] != instance["ip"]


def test_reset_of_one_project_leaves_the_others_untouched(
    server: LiveServer, admin_of: Any, client_for: Any
) -> None:
    admin = admin_of(server)
    one, two = server.new_project(balance="900"), server.new_project()
    first, second = client_for(server, one), client_for(server, two)
    made = populate(server, first, "one")
    populate(server, second, "two")
    first_ip = vols.get_instance(first, made["instance"])["ip"]
    with server.context.db.write() as session:
        project = session.get(Project, one.project_id)
        assert project is not None
        set_balance(session, project, server.clock.now(), Decimal("1200.125"))
    others = views(second)

    answer = reset(admin, project_id=one.project_id)
    assert (answer["projects_reset"], answer["projects_dropped"]) == (1, 0)
    deleted = answer["deleted"]
    assert deleted["instances"] == 1
    assert deleted["clusters"] == 1
    assert deleted["ssh_keys"] == deleted["startup_scripts"] == deleted["tags"] == 1
    assert deleted["secrets"] == 2 and deleted["secret_files"] == 1
    assert deleted["registry_credentials"] == 1
    # The instance's OS and data volumes, the spare, the trashed one, the cluster's.
    assert deleted["volumes"] == 5
    assert deleted["meters"] > 0 and deleted["ledger_entries"] > 0
    assert deleted["fundings"] == 1  # the correction set_balance booked
    assert "credentials" not in deleted and "projects" not in deleted

    # The same token works; nothing is left; the money is as the project opened.
    after = views(first)
    assert all(after[path] == [] for path in VIEWS if path != "/v1/balance")
    assert after["/v1/balance"] == {"amount": 900, "currency": "usd"}
    assert views(second) == others
    # Capacity and addresses are free again: a deploy gets the first address back.
    server.clock.advance(1)
    again = vols.deploy(first)
    server.clock.advance(BOOT)
    assert vols.get_instance(first, again)["ip"] == first_ip
    assert views(second)["/v1/instances"] == others["/v1/instances"]


def test_reset_of_every_project_keeps_projects_and_credentials(
    server: LiveServer, admin_of: Any, client_for: Any
) -> None:
    admin = admin_of(server)
    creds = [server.new_project(), default_credentials(server)]
    clients = [client_for(server, c) for c in creds]
    for index, client in enumerate(clients):
        populate(server, client, f"p{index}")
    answer = reset(admin)
    assert (answer["projects_reset"], answer["projects_dropped"]) == (2, 0)
    assert answer["deleted"]["instances"] == 2
    for client in clients:
        seen = views(client)
        assert all(seen[path] == [] for path in VIEWS if path != "/v1/balance")
    # Nothing to delete the second time; every kind still answered.
    again = reset(admin)
    assert set(again["deleted"]) == set(answer["deleted"])
    assert not any(again["deleted"].values())


def test_drop_projects_removes_every_project_but_the_default(
    server: LiveServer, admin_of: Any, client_for: Any
) -> None:
    admin = admin_of(server)
    dropped, default = server.new_project(), default_credentials(server)
    gone = client_for(server, token=token_of(server, dropped))
    kept = client_for(server, default)
    populate(server, kept, "kept")
    answer = reset(admin, drop_projects=True)
    assert answer["projects_dropped"] == 1
    assert answer["deleted"]["credentials"] == 1
    response = gone.get("/v1/balance")
    assert (response.status_code, response.json()["code"]) == (401, "unauthorized_request")
    assert kept.get("/v1/instances").json() == []
    with server.context.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Project)) == 1
    # And the server is empty again: a snapshot imports.
    assert import_snapshot(admin, snapshot(admin)).status_code == 200


def test_drop_one_project(server: LiveServer, admin_of: Any, client_for: Any) -> None:
    admin = admin_of(server)
    dropped, other = server.new_project(), server.new_project()
    gone = client_for(server, token=token_of(server, dropped))
    stays = client_for(server, token=token_of(server, other))
    answer = reset(admin, project_id=dropped.project_id, drop_projects=True)
    assert (answer["projects_reset"], answer["projects_dropped"]) == (1, 1)
    assert gone.get("/v1/balance").status_code == 401
    assert stays.get("/v1/balance").status_code == 200
    response = admin.post("/_admin/v1/reset", json={"project_id": dropped.project_id})
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_reset_refusals(server: LiveServer, admin_of: Any) -> None:
    admin = admin_of(server)
    missing = admin.post("/_admin/v1/reset", json={"project_id": "no-such-project"})
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    default = server.server.bootstrap.project_id
    response = admin.post("/_admin/v1/reset", json={"project_id": default, "drop_projects": True})
    assert (response.status_code, response.json()["code"]) == (409, "conflict")
    bad = admin.post("/_admin/v1/reset", json={"drop_projects": "maybe"})
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_request")
    # Without a body: every project.
    assert admin.post("/_admin/v1/reset").status_code == 200


def test_import_into_a_server_that_is_not_empty(
    server: LiveServer, admin_of: Any, client_for: Any
) -> None:
    admin = admin_of(server)
    document = snapshot(admin)
    creds = server.new_project()
    populate(server, client_for(server, creds), "x")
    before = snapshot(admin)
    response = import_snapshot(admin, document)
    assert (response.status_code, response.json()["code"]) == (409, "conflict")
    assert "1 projects" in response.json()["message"]
    assert snapshot(admin) == before
    # Resources alone (in the default project) make it not empty too.
    reset(admin, drop_projects=True)
    default = client_for(server, default_credentials(server))
    assert default.post("/v1/sshkeys", json={"name": "k", "key": ed25519_key()}).status_code == 201
    response = import_snapshot(admin, document)
    assert (response.status_code, response.json()["code"]) == (409, "conflict")
    assert "(1 ssh_keys)" in response.json()["message"]
    # With replace: wiped first, whatever it held.
    assert import_snapshot(admin, document, replace="true").status_code == 200
    assert snapshot(admin) == document


def _broken(document: dict[str, Any], how: str) -> Any:
    broken = copy.deepcopy(document)
    tables = broken["tables"]
    match how:
        case "not an object":
            return [broken]
        case "wrong format":
            broken["format"] = "something-else"
        case "wrong version":
            broken["version"] = 2
        case "version as text":
            broken["version"] = "1"
        case "wrong revision":
            broken["revision"] = "0001"
        case "unknown field":
            broken["extra"] = 1
        case "missing table":
            del tables["volumes"]
        case "unknown table":
            tables["nonsense"] = []
        case "missing column":
            del tables["projects"][0]["balance"]
        case "unknown column":
            tables["projects"][0]["colour"] = "red"
        case "money as a number":
            tables["projects"][0]["balance"] = 12.5
        case "money too precise":
            tables["projects"][0]["balance"] = "1.0000000000001"
        case "instant without zone":
            tables["projects"][0]["created_at"] = "2026-01-01T00:00:00"
        case "instant out of range":
            tables["projects"][0]["created_at"] = "0001-01-01T00:00:00+14:00"
        case "null where not allowed":
            tables["projects"][0]["name"] = None
        case "too long":
            tables["projects"][0]["currency"] = "euro"
        case "bool as text":
            tables["projects"][0]["is_default"] = "true"
        case "no default project":
            tables["projects"][0]["is_default"] = False
        case "dangling reference":
            tables["credentials"][0]["project_id"] = "nowhere"
        case "duplicate key":
            tables["credentials"].append(dict(tables["credentials"][0]))
        case "admin token":
            broken["control"]["admin_token"] = {"sha256": "0" * 64}
        case "bad clock":
            broken["control"]["clock"] = {"offset": "soon"}
        case "naive clock":
            broken["control"]["clock"] = {"offset_us": 0, "frozen_at": "2026-01-01T00:00:00"}
    return broken


BROKEN = {
    "not an object": "body",
    "wrong format": "format: not a verda-server snapshot",
    "wrong version": "version: this server reads snapshot format version 1, not 2",
    "version as text": "version",
    "wrong revision": "revision: the snapshot was taken of store revision '0001'",
    "unknown field": "extra",
    "missing table": "tables: missing volumes",
    "unknown table": "tables: unknown nonsense",
    "missing column": "tables.projects[0]: missing balance",
    "unknown column": "tables.projects[0]: unknown colour",
    "money as a number": "tables.projects[0].balance: an amount is a decimal string",
    "money too precise": "tables.projects[0].balance: '1.0000000000001' has more than 12",
    "instant without zone": "tables.projects[0].created_at: '2026-01-01T00:00:00' has no time zone",
    "instant out of range": "tables.projects[0].created_at: '0001-01-01T00:00:00+14:00' is out",
    "null where not allowed": "tables.projects[0].name: may not be null",
    "too long": "tables.projects[0].currency: at most 3 characters",
    "bool as text": "tables.projects[0].is_default: true or false is expected",
    "no default project": "tables.projects: exactly one default project, not 0",
    "dangling reference": "The snapshot breaks the store's constraints",
    "duplicate key": "The snapshot breaks the store's constraints",
    "admin token": "control.admin_token: stays with the server",
    "bad clock": "control.clock: not a clock state",
    "naive clock": "control.clock: frozen_at has no time zone",
}


def test_a_bad_snapshot_is_refused_and_writes_nothing(server: LiveServer, admin_of: Any) -> None:
    admin = admin_of(server)
    reset(admin, drop_projects=True)
    document = snapshot(admin)
    for how, message in BROKEN.items():
        response = import_snapshot(admin, _broken(document, how), replace="true")
        assert response.status_code == 400, (how, response.text)
        assert response.json()["code"] == "invalid_request"
        assert message in response.json()["message"], (how, response.json()["message"])
        assert snapshot(admin) == document, how
    malformed = admin.post(
        "/_admin/v1/snapshot", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert (malformed.status_code, malformed.json()["message"]) == (
        400,
        "Malformed JSON in request body",
    )


def test_a_large_snapshot_passes_the_body_limit_with_the_admin_token_only(
    server: LiveServer, admin_of: Any
) -> None:
    admin = admin_of(server)
    document = snapshot(admin)
    document["tables"]["ssh_keys"] = []
    big = json.dumps({**document, "padding": "x" * MAX_BODY_BYTES}).encode()
    headers = {"Content-Type": "application/json"}
    response = admin.post("/_admin/v1/snapshot", content=big, headers=headers)
    # Past the size check: refused for what it holds, not for its size.
    assert response.status_code == 400
    assert "padding" in response.json()["message"]
    with httpx.Client(verify=TLS, base_url=server.base_url) as anonymous:
        response = anonymous.post("/_admin/v1/snapshot", content=big, headers=headers)
    assert response.status_code == 400
    assert response.json()["message"].startswith("Request body too large")


def test_snapshot_travels_between_backends(
    database_url: str, tmp_path: Any, admin_contract: Any, client_for: Any, request: Any
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("both backends in one run: once is enough")
    fresh_postgres_url = request.getfixturevalue("fresh_postgres_url")
    with (
        start_live_server(sqlite_url(tmp_path)) as lite,
        checked_client(lite.base_url, admin_contract, ADMIN_TOKEN) as admin,
    ):
        creds = lite.new_project(balance="123.456789012345")
        populate(lite, client_for(lite, creds), "travel")
        token = token_of(lite, creds)
        document = snapshot(admin)
    with (
        start_live_server(fresh_postgres_url) as pg,
        checked_client(pg.base_url, admin_contract, ADMIN_TOKEN) as admin,
    ):
        assert import_snapshot(admin, document).status_code == 200
        assert snapshot(admin) == document
        # The clock came along: the token from SQLite works on PostgreSQL.
        assert pg.clock.now() == lite.clock.now()
        assert client_for(pg, token=token).get("/v1/instances").status_code == 200
    (tmp_path / "back").mkdir()
    with (
        start_live_server(sqlite_url(tmp_path / "back")) as back,
        checked_client(back.base_url, admin_contract, ADMIN_TOKEN) as admin,
    ):
        assert import_snapshot(admin, document).status_code == 200
        assert snapshot(admin) == document


def test_the_control_api_needs_the_admin_token(server: LiveServer, admin_contract: Any) -> None:
    with checked_client(server.base_url, admin_contract) as anonymous:
        for method, path in [
            ("GET", "/_admin/v1/snapshot"),
            ("POST", "/_admin/v1/snapshot"),
            ("POST", "/_admin/v1/reset"),
        ]:
            response = anonymous.request(method, path, json={})
            assert (response.status_code, response.json()["code"]) == (401, "unauthorized_request")


def test_admin_cli_reset_and_snapshots(
    server: LiveServer, admin_of: Any, client_for: Any, tmp_path: Any
) -> None:
    admin = admin_of(server)
    creds = server.new_project()
    populate(server, client_for(server, creds), "cli")
    before = snapshot(admin)
    path = tmp_path / "state.json"
    exported = admin_cli(server, "snapshot", "export", str(path))
    assert exported.exit_code == 0, exported.output
    assert re.search(r"^instances +1$", exported.output, re.MULTILINE)
    assert path.stat().st_mode & 0o777 == 0o600
    assert json.loads(path.read_text()) == before
    to_stdout = admin_cli(server, "snapshot", "export", "-")
    assert json.loads(to_stdout.stdout) == before

    refused = admin_cli(server, "snapshot", "import", str(path))
    assert refused.exit_code == 1
    assert "conflict: The server is not empty" in refused.output
    one = admin_cli(server, "--json", "reset", "--project", creds.project_id)
    assert one.exit_code == 0, one.output
    assert json.loads(one.stdout)["deleted"]["instances"] == 1
    dropped = admin_cli(server, "reset", "--drop-projects")
    assert dropped.exit_code == 0, dropped.output
    assert "projects dropped  1" in dropped.output
    assert re.search(r"^credentials +1$", dropped.output, re.MULTILINE)
    imported = admin_cli(server, "--json", "snapshot", "import", str(path))
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.stdout)["imported"]["instances"] == 1
    assert snapshot(admin) == before
    replaced = admin_cli(server, "snapshot", "import", "--replace", str(path))
    assert replaced.exit_code == 0, replaced.output
    assert snapshot(admin) == before


def test_admin_cli_snapshot_import_refusals(server: LiveServer, tmp_path: Any) -> None:
    missing = admin_cli(server, "snapshot", "import", str(tmp_path / "absent.json"))
    assert missing.exit_code == 2
    assert "error: cannot read" in missing.output
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{nope")
    bad = admin_cli(server, "snapshot", "import", str(garbage))
    assert bad.exit_code == 2
    assert "is not JSON" in bad.output
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"format": "x"}))
    refused = admin_cli(server, "snapshot", "import", str(wrong))
    assert refused.exit_code == 1
    assert "invalid_request:" in refused.output
    unknown = admin_cli(server, "reset", "--project", "nope")
    assert unknown.exit_code == 1
    assert unknown.output.strip() == "error: not_found: Project nope not found"


def test_every_replica_follows_an_import(
    database_url: str, tmp_path: Any, admin_contract: Any, client_for: Any, request: Any
) -> None:
    """Imported through one replica, the keys and clock are every replica's: a
    token from the snapshot's server works on the other, and so does a token the
    other issues afterwards."""
    if not database_url.startswith("sqlite"):
        pytest.skip("replicas are on PostgreSQL; once is enough")
    store = request.getfixturevalue("fresh_postgres_url")
    with (
        start_live_server(sqlite_url(tmp_path)) as source,
        checked_client(source.base_url, admin_contract, ADMIN_TOKEN) as admin,
    ):
        source.clock.advance(86400)
        creds = source.new_project()
        token = token_of(source, creds)
        document = snapshot(admin)
    with (
        start_live_server(store) as one,
        start_live_server(store) as other,
        checked_client(one.base_url, admin_contract, ADMIN_TOKEN) as first,
    ):
        assert client_for(other, token=token).get("/v1/balance").status_code == 401
        assert import_snapshot(first, document).status_code == 200
        assert client_for(other, token=token).get("/v1/balance").status_code == 200
        assert other.clock.now() == source.clock.now()
        issued = token_of(other, creds)
        assert client_for(one, token=issued).get("/v1/balance").status_code == 200
