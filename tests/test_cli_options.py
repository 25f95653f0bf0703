"""Every option and `VERDA_SERVER_*` variable of `verda-server serve` takes
effect: the real command line, run in-process on a frozen clock (see
tests/support/cli.py), so that each timed option is checked to the tick."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import httpx
import jwt
import pytest
import yaml

from tests.support import cli, serverless
from tests.support.clusters import cluster_body
from tests.support.live import TLS, LiveServer
from tests.test_errors import assert_error
from tests.test_instances import deploy
from verda_server.catalog.source import LocationCapacity, load_source
from verda_server.config import sqlite_url
from verda_server.instances import eviction
from verda_server.instances.models import Instance

TICK = 0.001
README = Path(__file__).resolve().parents[1] / "README.md"


@contextmanager
def _client(server: LiveServer) -> Iterator[httpx.Client]:
    """A client of a new project of `server`."""
    with httpx.Client(verify=TLS, base_url=server.base_url, timeout=10) as client:
        token = server.new_project().access_token(client)
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def _status(client: httpx.Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


# ---- checks: each proves one setting took effect -----------------------------


def token_lives_120_seconds(server: LiveServer, _tmp: Path) -> None:
    with httpx.Client(verify=TLS, base_url=server.base_url) as client:
        grant = server.new_project().token_response(client)
        assert grant["expires_in"] == 120
        claims = jwt.decode(str(grant["access_token"]), options={"verify_signature": False})
        assert claims["exp"] - claims["iat"] == 120
        headers = {"Authorization": f"Bearer {grant['access_token']}"}
        server.clock.advance(119)
        assert client.get("/v1/balance", headers=headers).status_code == 200
        server.clock.advance(2)
        assert_error(client.get("/v1/balance", headers=headers), 401, "unauthorized_request")


def provisioning_takes_10_seconds(server: LiveServer, _tmp: Path) -> None:
    with _client(server) as client:
        instance_id = deploy(client)
        server.clock.advance(10 - TICK)
        assert _status(client, f"/v1/instances/{instance_id}") == "provisioning"
        server.clock.advance(TICK)
        assert _status(client, f"/v1/instances/{instance_id}") == "running"


def clusters_provision_for_30_seconds(server: LiveServer, _tmp: Path) -> None:
    with _client(server) as client:
        response = client.post("/v1/clusters", json=cluster_body())
        assert response.status_code == 201, response.text
        path = f"/v1/clusters/{response.json()['id']}"
        server.clock.advance(30 - TICK)
        assert _status(client, path) == "provisioning"
        server.clock.advance(TICK)
        assert _status(client, path) == "running"


def clones_take_20_seconds(server: LiveServer, _tmp: Path) -> None:
    with _client(server) as client:
        body = {"type": "NVMe", "name": "v", "size": 10, "location_code": "FIN-01"}
        source = client.post("/v1/volumes", json=body).text
        action = {"action": "clone", "id": source, "location_code": "ICE-01"}
        (clone,) = client.put("/v1/volumes", json=action).json()
        server.clock.advance(20 - TICK)
        assert _status(client, f"/v1/volumes/{clone}") == "cloning"
        server.clock.advance(TICK)
        assert _status(client, f"/v1/volumes/{clone}") == "detached"


def provisions_realistically(server: LiveServer, _tmp: Path) -> None:
    with _client(server) as client:
        instance_id = deploy(client)
        server.clock.advance(180 - TICK)
        assert _status(client, f"/v1/instances/{instance_id}") == "provisioning"
        server.clock.advance(TICK)
        assert _status(client, f"/v1/instances/{instance_id}") == "running"


def replicas_get_ready_in_20_seconds(server: LiveServer, _tmp: Path) -> None:
    with _client(server) as client:
        body = serverless.deployment()
        assert client.post("/v1/container-deployments", json=body).status_code == 201
        server.clock.advance(20 - TICK)
        assert client.get("/v1/container-deployments/web/status").json()["status"] == "initializing"
        server.clock.advance(TICK)
        assert client.get("/v1/container-deployments/web/status").json()["status"] == "healthy"


def replicas_work_20_seconds_on_a_request(server: LiveServer, _tmp: Path) -> None:
    with _client(server) as client:
        assert client.post("/v1/container-deployments", json=serverless.deployment()).status_code
        sent = client.post("/serverless/web", json={}, headers={"Prefer": "respond-async"})
        look = {"X-Inference-Id": sent.json()["Id"]}
        server.clock.advance(20 - TICK)
        assert client.get("/serverless/status/web", headers=look).json()["Status"] == "Inference"
        server.clock.advance(TICK)
        assert client.get("/serverless/status/web", headers=look).json()["Status"] == "Completed"


def puts_endpoints_under_the_base(server: LiveServer, _tmp: Path) -> None:
    with _client(server) as client:
        made = client.post("/v1/container-deployments", json=serverless.deployment())
    assert made.json()["endpoint_base_url"] == "https://containers.example.com/base/web"


def trash_lasts_60_seconds(server: LiveServer, _tmp: Path) -> None:
    with _client(server) as client:
        body = {"type": "NVMe", "name": "v", "size": 10, "location_code": "FIN-01"}
        volume = client.post("/v1/volumes", json=body).text
        assert client.put("/v1/volumes", json={"action": "delete", "id": volume}).status_code == 202
        server.clock.advance(60 - TICK)
        assert client.get(f"/v1/volumes/{volume}").json()["is_permanently_deleted"] is False
        server.clock.advance(TICK)
        assert client.get(f"/v1/volumes/{volume}").json()["is_permanently_deleted"] is True


def seeds_spot_evictions_with_42(server: LiveServer, _tmp: Path) -> None:
    lifecycle = server.context.settings.lifecycle
    assert lifecycle.spot_seed == 42
    instance = Instance(id="0b8b6c6e-3b7a-4d51-9c3e-8a3f4f0a1e2d", is_spot=True, location="FIN-01")
    rate = {"capacity": {"FIN-01": LocationCapacity(spot_eviction_rate=0.5)}}
    now = server.clock.now()
    eviction.schedule(instance, SimpleNamespace(**rate), lifecycle, now)  # type: ignore[arg-type]
    assert instance.evict_at == now + eviction.draw_delay(42, instance.id, 0.5)


def _one_location_catalog(tmp: Path) -> str:
    data = load_source().model_dump(mode="json")
    data["locations"] = [loc for loc in data["locations"] if loc["code"] == "FIN-03"]
    data["capacity"] = {"FIN-03": data["capacity"]["FIN-03"]}
    path = tmp / "catalog.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def serves_the_catalog_file(server: LiveServer, _tmp: Path) -> None:
    with _client(server) as client:
        assert [loc["code"] for loc in client.get("/v1/locations").json()] == ["FIN-03"]


SIGNING_KEY = "an-operator-chosen-signing-key-0123456789"


def signs_with_the_key(server: LiveServer, _tmp: Path) -> None:
    with httpx.Client(verify=TLS, base_url=server.base_url) as client:
        token = server.new_project().access_token(client)
    claims = jwt.decode(
        token, SIGNING_KEY, algorithms=["HS256"], options={"verify_exp": False, "verify_iat": False}
    )
    assert claims["scope"] == "cloud-api-v1"


def stores_in_the_data_dir(server: LiveServer, tmp: Path) -> None:
    assert (tmp / "chosen-dir" / "verda.db").is_file()
    assert server.context.db.url == sqlite_url(tmp / "chosen-dir")


def stores_at_the_database_url(server: LiveServer, tmp: Path) -> None:
    assert (tmp / "elsewhere" / "verda.db").is_file()
    assert not (tmp / "default-dir").exists()  # the --data-dir given is not used


def has_no_rate_limits(server: LiveServer, _tmp: Path) -> None:
    assert server.context.rate_limiter is None
    with _client(server) as client:
        assert "ratelimit" not in client.get("/v1/ssh-keys").headers


def _policies(tmp: Path) -> str:
    path = tmp / "policies.yaml"
    path.write_text("policies:\n  - {method: GET, path: /v1/ssh-keys, limit: 7}\n")
    return str(path)


def limits_by_the_policy_file(server: LiveServer, _tmp: Path) -> None:
    with _client(server) as client:
        policy = client.get("/v1/ssh-keys").headers["ratelimit-policy"]
    assert policy == '"project";q=500;w=60, "endpoint";q=7;w=60'


ADMIN_TOKEN = "an-operator-chosen-admin-token"


def opens_the_control_api_with_the_token(server: LiveServer, _tmp: Path) -> None:
    with httpx.Client(verify=TLS, base_url=server.base_url) as client:
        chosen = client.get("/_admin/v1/clock", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        other = client.get("/_admin/v1/clock", headers={"Authorization": "Bearer vsa_other"})
    assert (chosen.status_code, other.status_code) == (200, 401)
    assert server.server.admin_token is None  # given, so never generated nor printed


def writes_text_lines(server: LiveServer, _tmp: Path) -> None:
    assert server.context.settings.log_format == "text"


def opens_metrics_to_all(server: LiveServer, _tmp: Path) -> None:
    with httpx.Client(verify=TLS, base_url=server.base_url) as client:
        assert client.get("/metrics").status_code == 200


def keeps_7_requests_per_project(server: LiveServer, _tmp: Path) -> None:
    assert server.context.journal.size == 7


Check = Callable[[LiveServer, Path], None]
VARIABLES: dict[str, tuple[Callable[[Path], str], Check]] = {
    "VERDA_SERVER_TOKEN_TTL": (lambda _: "120", token_lives_120_seconds),
    "VERDA_SERVER_PROVISIONING_SECONDS": (lambda _: "10", provisioning_takes_10_seconds),
    "VERDA_SERVER_CLUSTER_PROVISIONING_SECONDS": (
        lambda _: "30",
        clusters_provision_for_30_seconds,
    ),
    "VERDA_SERVER_CLONE_SECONDS": (lambda _: "20", clones_take_20_seconds),
    "VERDA_SERVER_TRASH_SECONDS": (lambda _: "60", trash_lasts_60_seconds),
    "VERDA_SERVER_SERVERLESS_READY_SECONDS": (
        lambda _: "20",
        replicas_get_ready_in_20_seconds,
    ),
    "VERDA_SERVER_SERVERLESS_INFERENCE_SECONDS": (
        lambda _: "20",
        replicas_work_20_seconds_on_a_request,
    ),
    "VERDA_SERVER_SERVERLESS_BASE_URL": (
        lambda _: "https://containers.example.com/base/",
        puts_endpoints_under_the_base,
    ),
    "VERDA_SERVER_LIFECYCLE_PROFILE": (lambda _: "realistic", provisions_realistically),
    "VERDA_SERVER_SPOT_SEED": (lambda _: "42", seeds_spot_evictions_with_42),
    "VERDA_SERVER_CATALOG": (_one_location_catalog, serves_the_catalog_file),
    "VERDA_SERVER_SIGNING_KEY": (lambda _: SIGNING_KEY, signs_with_the_key),
    "VERDA_SERVER_ADMIN_TOKEN": (lambda _: ADMIN_TOKEN, opens_the_control_api_with_the_token),
    "VERDA_SERVER_DATA_DIR": (lambda tmp: str(tmp / "chosen-dir"), stores_in_the_data_dir),
    "VERDA_SERVER_LOG_FORMAT": (lambda _: "text", writes_text_lines),
    "VERDA_SERVER_METRICS_PUBLIC": (lambda _: "1", opens_metrics_to_all),
    "VERDA_SERVER_JOURNAL_SIZE": (lambda _: "7", keeps_7_requests_per_project),
    "VERDA_SERVER_DATABASE_URL": (
        lambda tmp: sqlite_url((tmp / "elsewhere").resolve()),
        stores_at_the_database_url,
    ),
    "VERDA_SERVER_RATE_LIMITS": (lambda _: "off", has_no_rate_limits),
    "VERDA_SERVER_RATE_LIMIT_POLICIES": (_policies, limits_by_the_policy_file),
}
# Checked where what they need runs: a Redis server of its own.
CHECKED_ELSEWHERE = {
    "VERDA_SERVER_REDIS_URL": "tests/test_rate_limits_redis.py",
    # What they need runs there: root, podman and runc.
    "VERDA_SERVER_INSTANCES": "tests/test_machines_podman.py",
    "VERDA_SERVER_MACHINES_DIR": "tests/test_machines_podman.py",
    "VERDA_SERVER_INSTANCE_SCALE": "tests/test_machines_podman.py",
    "VERDA_SERVER_INSTANCE_IMAGE": "tests/test_machines_podman.py",
}


def test_every_variable_of_the_readme_is_checked_here():
    table = README.read_text().split("## Command line", 1)[1].split("## What it serves", 1)[0]
    assert set(re.findall(r"`(VERDA_SERVER_\w+)`", table)) == set(VARIABLES) | set(
        CHECKED_ELSEWHERE
    )


@pytest.mark.parametrize("variable", sorted(VARIABLES))
def test_each_environment_variable_takes_effect(variable, tmp_path, monkeypatch):
    (tmp_path / "elsewhere").mkdir()
    value, check = VARIABLES[variable]
    # --data-dir is given on the command line unless the variable under test is it.
    given = [] if variable == "VERDA_SERVER_DATA_DIR" else [str(tmp_path / "default-dir")]
    args = ["--data-dir", *given] if given else []
    with cli.serve(monkeypatch, *args, env={variable: value(tmp_path)}) as server:
        check(server, tmp_path)


@pytest.mark.parametrize(
    ("option", "check"),
    [
        (["--token-ttl", "120"], token_lives_120_seconds),
        (["--provisioning-seconds", "10"], provisioning_takes_10_seconds),
        (["--cluster-provisioning-seconds", "30"], clusters_provision_for_30_seconds),
        (["--clone-seconds", "20"], clones_take_20_seconds),
        (["--trash-seconds", "60"], trash_lasts_60_seconds),
        (["--serverless-ready-seconds", "20"], replicas_get_ready_in_20_seconds),
        (["--serverless-inference-seconds", "20"], replicas_work_20_seconds_on_a_request),
        (
            ["--serverless-base-url", "https://containers.example.com/base"],
            puts_endpoints_under_the_base,
        ),
        (["--lifecycle-profile", "realistic"], provisions_realistically),
        (
            ["--lifecycle-profile", "realistic", "--provisioning-seconds", "10"],
            provisioning_takes_10_seconds,
        ),
        (["--spot-seed", "42"], seeds_spot_evictions_with_42),
        (["--instant", "--spot-seed", "42"], seeds_spot_evictions_with_42),
    ],
    ids=[
        "token-ttl",
        "provisioning-seconds",
        "cluster-provisioning-seconds",
        "clone-seconds",
        "trash-seconds",
        "serverless-ready-seconds",
        "serverless-inference-seconds",
        "serverless-base-url",
        "lifecycle-profile",
        "lifecycle-profile-and-override",
        "spot-seed",
        "instant-spot-seed",
    ],
)
def test_each_timing_option_takes_effect(option, check, tmp_path, monkeypatch):
    with cli.serve(monkeypatch, "--data-dir", str(tmp_path), *option) as server:
        check(server, tmp_path)


def test_a_flag_wins_over_its_variable(tmp_path, monkeypatch):
    env = {"VERDA_SERVER_PROVISIONING_SECONDS": "3600"}
    args = ("--data-dir", str(tmp_path), "--provisioning-seconds", "10")
    with cli.serve(monkeypatch, *args, env=env) as server:
        provisioning_takes_10_seconds(server, tmp_path)


def test_instant_means_no_delay_at_all(tmp_path, monkeypatch):
    args = ("--data-dir", str(tmp_path), "--instant", "--provisioning-seconds", "600")
    with cli.serve(monkeypatch, *args) as server, _client(server) as client:
        instance_id = deploy(client)
        assert _status(client, f"/v1/instances/{instance_id}") == "running"
        body = {"type": "NVMe", "name": "v", "size": 10, "location_code": "FIN-01"}
        source = client.post("/v1/volumes", json=body).text
        action = {"action": "clone", "id": source, "location_code": "ICE-01"}
        (clone,) = client.put("/v1/volumes", json=action).json()
        assert _status(client, f"/v1/volumes/{clone}") == "detached"
        cluster = client.post("/v1/clusters", json=cluster_body()).json()["id"]
        assert _status(client, f"/v1/clusters/{cluster}") == "running"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lifecycle-profile", "glacial"], "unknown profile 'glacial' (known: instant, fast"),
        (["--instant", "--lifecycle-profile", "fast"], "--instant contradicts"),
    ],
)
def test_a_lifecycle_profile_must_exist_and_agree_with_instant(args, message, tmp_path):
    result = cli.invoke("serve", "--data-dir", str(tmp_path), *args)
    assert result.exit_code == 2
    # The message as one line, out of the box the terminal draws around it.
    assert message in " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())
    assert not (tmp_path / "verda.db").exists()


# ---- the catalog's cross-references ------------------------------------------


def _break_image(data: dict) -> str:
    data["instance_types"][1]["supported_os"].append("windows-95")
    return f"instance type {data['instance_types'][1]['instance_type']} names unknown image"


def _break_cluster_image(data: dict) -> str:
    data["cluster_types"][0]["supported_os"] = ["beos-5"]
    return f"cluster type {data['cluster_types'][0]['cluster_type']} names unknown cluster image"


def _break_capacity_location(data: dict) -> str:
    data["capacity"]["MARS-01"] = {"instances": {}, "clusters": {}}
    return "capacity names unknown location 'MARS-01'"


def _break_capacity_instance_type(data: dict) -> str:
    data["capacity"]["FIN-02"]["instances"]["9X9.1V"] = {"on_demand": 1, "spot": 1}
    return "capacity of FIN-02 names unknown instance type '9X9.1V'"


def _break_capacity_cluster_type(data: dict) -> str:
    data["capacity"]["FIN-02"]["clusters"]["99Z999"] = 1
    return "capacity of FIN-02 names unknown cluster type '99Z999'"


@pytest.mark.parametrize(
    "breakage",
    [
        _break_image,
        _break_cluster_image,
        _break_capacity_location,
        _break_capacity_instance_type,
        _break_capacity_cluster_type,
    ],
)
def test_a_catalog_naming_what_it_lacks_stops_start_up_with_one_line(breakage, tmp_path):
    data = load_source().model_dump(mode="json")
    problem = breakage(data)
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data))
    result = cli.invoke("serve", "--data-dir", str(tmp_path / "d"), "--catalog", str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: invalid catalog {path}: ") and problem in line, line
    assert not (tmp_path / "d" / "verda.db").exists()  # nothing was created


def test_an_unreadable_catalog_is_one_line_too(tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text("locations: [\n  {code: FIN-01\n")
    result = cli.invoke("serve", "--data-dir", str(tmp_path), "--catalog", str(path))
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: cannot read catalog {path}: ")
