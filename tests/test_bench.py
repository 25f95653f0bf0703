"""The bench's own parts: its command line answers, and the store it writes
directly is one the server reads as it reads its own (no timing here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.live import start_live_server

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

import store  # noqa: E402
import wrk  # noqa: E402


def test_the_entry_point_explains_itself() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "--only" in done.stdout
    assert "--quick" in done.stdout


def test_wrk_output_is_read_with_its_units() -> None:
    out = """Running 1s test @ http://127.0.0.1:1/
  Latency Distribution
     50%  512.00us
     75%    2.72ms
     90%    4.73ms
     99%    1.20s
  1849 requests in 2.02s, 73.99MB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 4
Requests/sec:    915.02
"""
    run = wrk.parse(out)
    assert run.p50_ms == pytest.approx(0.512)
    assert run.p99_ms == pytest.approx(1200)
    assert (run.requests, run.non2xx, run.socket_errors, run.rps) == (1849, 4, 3, 915.02)


def test_a_generated_store_reads_like_one_the_server_wrote(empty_database_url) -> None:
    with start_live_server(empty_database_url):
        pass  # migrated
    made = store.generate(empty_database_url, 3, 67, "generated-secret")
    assert [len(g.instance_ids) for g in made] == [67] * 3
    with (
        start_live_server(empty_database_url) as live,
        httpx.Client(base_url=live.base_url) as http,
    ):
        tokens = [_token(http, g.client_id) for g in made]
        for g, token in zip(made, tokens, strict=True):
            listed = http.get("/v1/instances", headers=_auth(token))
            assert listed.status_code == 200
            assert sorted(i["id"] for i in listed.json()) == sorted(g.instance_ids)
            assert {i["status"] for i in listed.json()} == {"running"}
        auth = _auth(tokens[0])
        one = http.get(f"/v1/instances/{made[0].instance_ids[0]}", headers=auth).json()
        volumes = http.get("/v1/volumes", headers=auth).json()
        assert [v["id"] for v in volumes if v["id"] == one["os_volume_id"]]
        assert {v["status"] for v in volumes} == {"attached"}
        assert len(volumes) == 67
        balance = http.get("/v1/balance", headers=auth)
        assert 0 < balance.json()["amount"] < float(store.BALANCE)
        # The server writes to it as to its own: a deploy beside the generated ones.
        body = {
            "instance_type": "CPU.4V.16G",
            "image": "ubuntu-24.04",
            "hostname": "after",
            "description": "",
            "location_code": "FIN-01",
        }
        deployed = http.post("/v1/instances", headers=auth, json=body)
        assert deployed.status_code == 202, deployed.text
        assert len(http.get("/v1/instances", headers=auth).json()) == 68


def _token(http: httpx.Client, client_id: str) -> str:
    grant = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": "generated-secret",
    }
    return str(http.post("/v1/oauth2/token", json=grant).json()["access_token"])


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
