"""`verda-server serve` options of observability: --log-format, --metrics-public, --journal-size."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import httpx

from tests.support.live import TLS, free_port
from tests.support.process import run_server
from tests.support.tokens import claims_of

ADMIN = "vsa_cli-admin-token"
TEXT_LINE = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO    GET /healthz 200 \d+\.\d ms "
    r"project=- id=on-a-tty"
)


def _until(found: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not found():
        assert time.monotonic() < deadline, f"never saw {what}"
        time.sleep(0.02)


def test_text_lines_on_a_terminal(tmp_path):
    port = free_port()
    primary, secondary = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VERDA_")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "verda_server",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            tmp_path,
        ],
        stdout=subprocess.DEVNULL,
        stderr=secondary,
        env=env,
    )
    os.close(secondary)
    chunks: list[bytes] = []

    def pump() -> None:
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(base + "/healthz", timeout=1, verify=TLS).status_code == 200
            except httpx.TransportError:
                return False

        _until(up, "the server")
        httpx.get(base + "/healthz", headers={"X-Request-Id": "on-a-tty"}, verify=TLS)
        _until(lambda: b"on-a-tty" in b"".join(chunks), "the request's line")
    finally:
        process.terminate()
        process.wait(timeout=20)
        reader.join(timeout=5)
        os.close(primary)
    text = b"".join(chunks).decode()
    assert TEXT_LINE.search(text), text
    assert '{"time"' not in text
    assert "HTTP/1.1" not in text  # no access line of uvicorn's


def test_json_lines_when_not_a_terminal_and_metrics_behind_the_admin_token(tmp_path):
    with run_server("--data-dir", str(tmp_path), "--admin-token", ADMIN) as server:
        http = httpx.Client(verify=TLS, base_url=server.base_url)
        rid = http.get("/healthz", headers={"X-Request-Id": "piped"}).headers["x-request-id"]
        _until(lambda: "piped" in server.text, "the request's line")
        assert http.get("/metrics").status_code == 401
        secret = server.exported()["VERDA_CLIENT_SECRET"]
        client_id = server.exported()["VERDA_CLIENT_ID"]
        token = http.post(
            "/v1/oauth2/token",
            json={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
            },
        ).json()["access_token"]
        assert http.get("/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        opened = http.get("/metrics", headers={"Authorization": f"Bearer {ADMIN}"})
        assert opened.status_code == 200
        assert "verda_http_requests_total" in opened.text
        journal = http.get(
            f"/_admin/v1/projects/{claims_of(token)['project_id']}/journal",
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        assert journal.json()["size"] == 200
    (line,) = [json.loads(line) for line in server.output if '"piped"' in line]
    assert line["route"] == "/healthz" and line["request_id"] == rid


def test_open_metrics_a_json_format_and_a_journal_size(tmp_path):
    with run_server(
        "--data-dir",
        str(tmp_path),
        "--admin-token",
        ADMIN,
        "--metrics-public",
        "--log-format",
        "json",
        "--journal-size",
        "2",
    ) as server:
        http = httpx.Client(verify=TLS, base_url=server.base_url)
        assert http.get("/metrics").status_code == 200
        exported = server.exported()
        token = http.post(
            "/v1/oauth2/token",
            json={
                "grant_type": "client_credentials",
                "client_id": exported["VERDA_CLIENT_ID"],
                "client_secret": exported["VERDA_CLIENT_SECRET"],
            },
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        sent = [http.get("/v1/balance", headers=auth).headers["x-request-id"] for _ in range(3)]
        _until(lambda: sent[-1] in server.text, "the last request's line")
        journal = http.get(
            f"/_admin/v1/projects/{claims_of(token)['project_id']}/journal",
            headers={"Authorization": f"Bearer {ADMIN}"},
        ).json()
    assert journal["size"] == 2
    assert [entry["request_id"] for entry in journal["entries"]] == sent[:0:-1]


def test_a_bad_log_format_or_journal_size_is_refused():
    for option in (("--log-format", "xml"), ("--journal-size", "0")):
        result = subprocess.run(
            [sys.executable, "-m", "verda_server", "serve", *option],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 2, option
