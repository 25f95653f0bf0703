"""`verda-server serve` as users start it: first start, restarts, signals, options."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jwt
import pytest
import yaml
from verda import VerdaClient
from verda.exceptions import APIException

from tests.support.live import TLS
from tests.support.process import run_server
from verda_server.catalog.source import load_source


def _token(base_url: str, client_id: str, secret: str) -> httpx.Response:
    return httpx.post(
        base_url + "/v1/oauth2/token",
        json={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        verify=TLS,
    )


def test_first_start_prints_working_credentials_once_and_state_survives(tmp_path):
    data_dir = tmp_path / "state"
    with run_server("--data-dir", str(data_dir)) as server:
        exported = server.exported()
        assert exported["VERDA_BASE_URL"] == f"http://127.0.0.1:{server.port}/v1"
        client_id, secret = exported["VERDA_CLIENT_ID"], exported["VERDA_CLIENT_SECRET"]
        client = VerdaClient(client_id, secret, base_url=exported["VERDA_BASE_URL"])
        assert client.balance.get().amount > 0
        refresh = _token(server.base_url, client_id, secret).json()["refresh_token"]
        token = client._authentication._access_token
        admin_token = exported["VERDA_SERVER_ADMIN_TOKEN"]
        assert _clock(server.base_url, admin_token).status_code == 200
        assert server.stop() == 0
    assert (data_dir / "verda.db").exists()
    assert data_dir.stat().st_mode & 0o777 == 0o700  # it holds the signing key

    with run_server("--data-dir", str(data_dir)) as again:
        assert secret not in again.text and "VERDA_CLIENT_SECRET" not in again.text
        assert admin_token not in again.text and "VERDA_SERVER_ADMIN_TOKEN" not in again.text
        assert _clock(again.base_url, admin_token).status_code == 200
        assert client_id in again.text
        # Credentials, refresh tokens and the signing key all survived.
        assert _token(again.base_url, client_id, secret).status_code == 200
        refreshed = httpx.post(
            again.base_url + "/v1/oauth2/token",
            json={"grant_type": "refresh_token", "refresh_token": refresh},
            verify=TLS,
        )
        assert refreshed.status_code == 200
        balance = httpx.get(
            again.base_url + "/v1/balance", headers={"Authorization": f"Bearer {token}"}, verify=TLS
        )
        assert balance.status_code == 200


def _clock(base_url: str, admin_token: str) -> httpx.Response:
    return httpx.get(
        base_url + "/_admin/v1/clock",
        headers={"Authorization": f"Bearer {admin_token}"},
        verify=TLS,
    )


def test_an_acknowledged_write_survives_a_killed_process(tmp_path):
    data_dir = tmp_path / "state"
    with run_server("--data-dir", str(data_dir)) as server:
        exported = server.exported()
        refresh = _token(
            server.base_url, exported["VERDA_CLIENT_ID"], exported["VERDA_CLIENT_SECRET"]
        ).json()["refresh_token"]
        server.stop(signal.SIGKILL)
    with run_server("--data-dir", str(data_dir)) as again:
        response = httpx.post(
            again.base_url + "/v1/oauth2/token",
            json={"grant_type": "refresh_token", "refresh_token": refresh},
            verify=TLS,
        )
        assert response.status_code == 200


def test_credentials_from_the_environment_drive_server_and_sdk(tmp_path):
    env = {"VERDA_CLIENT_ID": "ci-client", "VERDA_CLIENT_SECRET": "ci-secret-value"}
    with run_server("--data-dir", str(tmp_path), env=env) as server:
        assert "ci-secret-value" not in server.text
        client = VerdaClient("ci-client", "ci-secret-value", base_url=server.base_url + "/v1")
        assert client.balance.get().currency == "usd"
        old_refresh = _token(server.base_url, "ci-client", "ci-secret-value").json()[
            "refresh_token"
        ]
    # A new secret in the environment replaces the old one, and ends what it obtained.
    env["VERDA_CLIENT_SECRET"] = "rotated-secret"
    with run_server("--data-dir", str(tmp_path), env=env) as server:
        assert _token(server.base_url, "ci-client", "rotated-secret").status_code == 200
        assert _token(server.base_url, "ci-client", "ci-secret-value").status_code == 401
        refreshed = httpx.post(
            server.base_url + "/v1/oauth2/token",
            json={"grant_type": "refresh_token", "refresh_token": old_refresh},
            verify=TLS,
        )
        assert refreshed.status_code == 401


def test_flags_win_over_the_environment(tmp_path):
    env = {"VERDA_CLIENT_ID": "from-env", "VERDA_CLIENT_SECRET": "env-secret"}
    with run_server(
        "--data-dir",
        str(tmp_path),
        "--client-id",
        "from-flag",
        "--client-secret",
        "flag-secret",
        env=env,
    ) as server:
        assert _token(server.base_url, "from-flag", "flag-secret").status_code == 200
        assert _token(server.base_url, "from-env", "env-secret").status_code == 401


def test_ctrl_c_shuts_down_cleanly(tmp_path):
    # SIGTERM: see test_sigterm_drains_an_in_flight_request_then_exits_0.
    with run_server("--data-dir", str(tmp_path), module=True) as server:
        assert server.stop(signal.SIGINT) == 0
        assert "Traceback" not in server.text


def test_the_serve_help_lists_every_documented_option():
    result = subprocess.run(
        [sys.executable, "-m", "verda_server", "serve", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for option in (
        "--host",
        "--port",
        "--data-dir",
        "--database-url",
        "--client-id",
        "--client-secret",
        "--catalog",
    ):
        assert option in result.stdout


def test_a_replacement_catalog_is_served(tmp_path):
    data = load_source().model_dump(mode="json")
    data["locations"] = [loc for loc in data["locations"] if loc["code"] == "FIN-03"]
    data["capacity"] = {"FIN-03": data["capacity"]["FIN-03"]}
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data))
    env = {"VERDA_CLIENT_ID": "c", "VERDA_CLIENT_SECRET": "s"}
    with run_server("--data-dir", str(tmp_path), "--catalog", str(path), env=env) as server:
        client = VerdaClient("c", "s", base_url=server.base_url + "/v1")
        assert [loc["code"] for loc in client.locations.get()] == ["FIN-03"]
        assert [a["location_code"] for a in client.instances.get_availabilities()] == ["FIN-03"]


def test_an_invalid_catalog_stops_start_up_with_a_clear_message(tmp_path):
    data = load_source().model_dump(mode="json")
    data["instance_types"][0]["supported_os"] = ["windows-95"]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "verda_server",
            "serve",
            "--data-dir",
            str(tmp_path),
            "--catalog",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "windows-95" in result.stderr and "Traceback" not in result.stderr


def test_postgres_through_the_command_line(fresh_postgres_url, tmp_path: Path):
    with run_server(
        "--database-url",
        fresh_postgres_url,
        "--client-id",
        "pg-client",
        "--client-secret",
        "pg-s",
        "--data-dir",
        str(tmp_path / "unused"),
    ) as server:
        client = VerdaClient("pg-client", "pg-s", base_url=server.base_url + "/v1")
        assert client.balance.get().amount > 0
    assert not (tmp_path / "unused").exists()


def test_a_configured_signing_key_signs_the_access_tokens(tmp_path):
    key = "k" * 40
    env = {"VERDA_CLIENT_ID": "c", "VERDA_CLIENT_SECRET": "s", "VERDA_SERVER_SIGNING_KEY": key}
    with run_server("--data-dir", str(tmp_path), env=env) as server:
        token = _token(server.base_url, "c", "s").json()["access_token"]
    claims = jwt.decode(token, key, algorithms=["HS256"])
    assert claims["scope"] == "cloud-api-v1"
    short = subprocess.run(
        [
            sys.executable,
            "-m",
            "verda_server",
            "serve",
            "--data-dir",
            str(tmp_path),
            "--signing-key",
            "short",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert short.returncode == 2 and "--signing-key" in short.stderr


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "verda_server", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_operators_create_projects_and_set_the_script_quota(tmp_path):
    created = _cli(
        "projects", "create", "--name", "team-b", "--balance", "50", "--data-dir", str(tmp_path)
    )
    assert created.returncode == 0, created.stderr
    project_id = created.stdout.split()[1]
    exported = dict(re.findall(r"(\w+)=(\S+)", created.stdout))
    assert (
        _cli(
            "projects",
            "set-quota",
            project_id,
            "--startup-scripts",
            "1",
            "--data-dir",
            str(tmp_path),
        ).returncode
        == 0
    )
    too_many = _cli(
        "projects",
        "set-quota",
        project_id,
        "--startup-scripts",
        "1001",
        "--data-dir",
        str(tmp_path),
    )
    assert too_many.returncode == 2
    unknown = _cli(
        "projects", "set-quota", "nope", "--startup-scripts", "5", "--data-dir", str(tmp_path)
    )
    assert unknown.returncode == 1 and "not found" in unknown.stderr
    listed = _cli("projects", "list", "--data-dir", str(tmp_path)).stdout
    assert project_id in listed and "scripts<=1" in listed and "team-b" in listed
    with run_server("--data-dir", str(tmp_path)) as server:
        client = VerdaClient(
            exported["VERDA_CLIENT_ID"],
            exported["VERDA_CLIENT_SECRET"],
            base_url=server.base_url + "/v1",
        )
        assert client.balance.get().amount == 50
        client.startup_scripts.create("one", "echo 1")
        with pytest.raises(APIException) as raised:
            client.startup_scripts.create("two", "echo 2")
        assert raised.value.code == "forbidden_action"


def _deploy_and_read(server) -> str:
    client = VerdaClient("c", "s", base_url=server.base_url + "/v1")
    instance = client.instances.create(
        "CPU.4V.16G", "ubuntu-24.04", "h", "d", location="FIN-01", wait_for_status=None
    )
    return client.instances.get_by_id(instance.id).status


def test_the_process_honours_provisioning_seconds(tmp_path):
    """The real process's clock can't be moved, so both directions are checked
    at once: 0 is running at the first read (the default, 3 s, would still be
    provisioning), 3600 is still provisioning (an hour can't pass meanwhile)."""
    env = {"VERDA_CLIENT_ID": "c", "VERDA_CLIENT_SECRET": "s"}
    with run_server(
        "--data-dir", str(tmp_path / "a"), "--provisioning-seconds", "0", env=env
    ) as server:
        assert _deploy_and_read(server) == "running"
    with run_server(
        "--data-dir", str(tmp_path / "b"), "--provisioning-seconds", "3600", env=env
    ) as server:
        assert _deploy_and_read(server) == "provisioning"


def test_sigterm_drains_an_in_flight_request_then_exits_0(tmp_path):
    env = {"VERDA_CLIENT_ID": "c", "VERDA_CLIENT_SECRET": "secret-c"}
    body = json.dumps(
        {"grant_type": "client_credentials", "client_id": "c", "client_secret": "secret-c"}
    ).encode()
    head = (
        "POST /v1/oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\nExpect: 100-continue\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with (
        run_server("--data-dir", str(tmp_path), env=env) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock,
    ):
        sock.sendall(head)
        # The app asked for the body: the request is in flight.
        assert sock.recv(1024).startswith(b"HTTP/1.1 100 ")
        server.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        while "Waiting for connections to close" not in server.text:
            assert time.monotonic() < deadline and server.process.poll() is None
            time.sleep(0.02)
        with pytest.raises(httpx.TransportError):  # no new requests meanwhile
            httpx.get(server.base_url + "/healthz", timeout=2, verify=TLS)
        sock.sendall(body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        assert server.stop() == 0
    status, _, rest = answer.partition(b"\r\n")
    assert status == b"HTTP/1.1 200 OK"
    assert json.loads(rest.partition(b"\r\n\r\n")[2])["access_token"]
    assert "Traceback" not in server.text


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--catalog", "/bin/ls"], "cannot read catalog"),
        (["--database-url", "nonsense"], "cannot open the store"),
        (["--database-url", "postgresql+psycopg://u:secret@127.0.0.1:1/db"], "u:***@"),
        (["--data-dir", "/bin/ls"], "not a directory"),
        (["--port", "99999"], "--port"),
        (["--log-level", "chatty"], "--log-level"),
    ],
)
def test_bad_start_up_options_fail_cleanly(tmp_path, args, expected):
    args = ["--data-dir", str(tmp_path), *args] if "--data-dir" not in args else args
    result = _cli("serve", *args)
    assert result.returncode == 2
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert "secret" not in result.stderr


def _balance(base_url: str, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.get(base_url + "/v1/balance", headers=headers, verify=TLS).status_code


def test_a_restart_with_a_new_secret_ends_the_access_tokens_of_the_old_one(tmp_path):
    flags = ("--data-dir", str(tmp_path), "--client-id", "rotating")
    with run_server(*flags, "--client-secret", "first-secret-1234") as server:
        token = _token(server.base_url, "rotating", "first-secret-1234").json()["access_token"]
        assert _balance(server.base_url, token) == 200
    with run_server(*flags, "--client-secret", "second-secret-5678") as server:
        assert _balance(server.base_url, token) == 401
        script = httpx.post(
            server.base_url + "/v1/scripts",
            json={"name": "s", "script": "echo"},
            headers={"Authorization": f"Bearer {token}"},
            verify=TLS,
        )
        assert script.status_code == 401
        fresh = _token(server.base_url, "rotating", "second-secret-5678").json()["access_token"]
        assert _balance(server.base_url, fresh) == 200


def test_operators_revoke_a_credential_while_the_server_runs(tmp_path):
    data_dir = ("--data-dir", str(tmp_path))
    created = _cli("projects", "create", *data_dir)
    project_id = created.stdout.split()[1]
    first = dict(re.findall(r"(\w+)=(\S+)", created.stdout))
    added = _cli("projects", "add-credential", project_id, *data_dir)
    assert added.returncode == 0, added.stderr
    second = dict(re.findall(r"(\w+)=(\S+)", added.stdout))
    assert second["VERDA_CLIENT_ID"] != first["VERDA_CLIENT_ID"]
    with run_server(*data_dir) as server:
        issued = _token(
            server.base_url, first["VERDA_CLIENT_ID"], first["VERDA_CLIENT_SECRET"]
        ).json()
        kept = _token(
            server.base_url, second["VERDA_CLIENT_ID"], second["VERDA_CLIENT_SECRET"]
        ).json()["access_token"]
        assert _balance(server.base_url, issued["access_token"]) == 200

        revoked = _cli("projects", "revoke-credential", first["VERDA_CLIENT_ID"], *data_dir)
        assert revoked.returncode == 0, revoked.stderr
        assert first["VERDA_CLIENT_ID"] in revoked.stdout and project_id in revoked.stdout
        assert _balance(server.base_url, issued["access_token"]) == 401
        refreshed = httpx.post(
            server.base_url + "/v1/oauth2/token",
            json={"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]},
            verify=TLS,
        )
        assert refreshed.status_code == 401
        again = _token(server.base_url, first["VERDA_CLIENT_ID"], first["VERDA_CLIENT_SECRET"])
        assert again.status_code == 401
        assert _balance(server.base_url, kept) == 200

    unknown = _cli("projects", "revoke-credential", first["VERDA_CLIENT_ID"], *data_dir)
    assert unknown.returncode == 1 and "not found" in unknown.stderr
    nowhere = _cli("projects", "add-credential", "no-such-project", *data_dir)
    assert nowhere.returncode == 1 and "not found" in nowhere.stderr
