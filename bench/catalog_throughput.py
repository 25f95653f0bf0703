"""Throughput of authenticated catalog, balance and instance reads, relative to a bare ASGI app.

Starts `verda-server serve` (SQLite, one process) and a bare ASGI app on the
same uvicorn stack, then loads each with wrk in alternating rounds, so that
both see the same machine noise. Prints requests/s and the ratio of each
endpoint to the bare app measured in the same run.

    python bench/catalog_throughput.py [--duration 5] [--rounds 3] [--connections 16]
        [--instances 3] [--rate-limits on|off]

Rate limits are on, as by default, with the bench project's own limits raised
above what wrk sends (`projects set-rate-limits`), so that every request pays
for the limiter and none is refused; `--rate-limits off` measures without them.
A checkout without rate limits ignores both.

The server is the installed one; `PYTHONPATH=OTHER/src` measures another checkout
with the same script (for before/after figures).

Needs `wrk` (Debian: apt-get install wrk).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def process(command: list[str], ready_url: str, env: dict[str, str]) -> Iterator[None]:
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=HERE
    )
    try:
        wait_for(ready_url)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def wrk(url: str, duration: int, connections: int, token: str | None) -> float:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", url]
    if token:
        command[1:1] = ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if match is None or non2xx is not None:
        raise RuntimeError(f"wrk run failed or saw errors:\n{out}")
    return float(match.group(1))


def raise_limits(token: str, data_dir: str, env: dict[str, str]) -> None:
    """The bench project's limits, far above what wrk sends in a 60 s window."""
    payload = token.split(".")[1]
    project_id = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))[
        "project_id"
    ]
    command = [sys.executable, "-m", "verda_server", "projects", "set-rate-limits", project_id]
    command += ["--project", "1000000", "--endpoint", "1000000", "--data-dir", data_dir]
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=HERE)
    if done.returncode != 0:
        print("(no rate limits in this checkout)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--instances",
        type=int,
        default=3,
        help="instances the project runs while measured (each bills, with its OS volume)",
    )
    parser.add_argument("--rate-limits", choices=("on", "off"), default="on")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")

    env = {
        **os.environ,
        "VERDA_CLIENT_ID": "bench",
        "VERDA_CLIENT_SECRET": "bench-secret",
        "VERDA_SERVER_RATE_LIMITS": args.rate_limits,
    }
    server_port, bare_port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        server = [
            sys.executable,
            "-m",
            "verda_server",
            "serve",
            "--port",
            str(server_port),
            "--data-dir",
            data_dir,
            "--log-level",
            "warning",
        ]
        bare = [
            sys.executable,
            "-m",
            "uvicorn",
            "bare_app:app",
            "--port",
            str(bare_port),
            "--log-level",
            "warning",
            "--no-server-header",
        ]
        api = f"http://127.0.0.1:{server_port}"
        with (
            process(server, api + "/healthz", env),
            process(bare, f"http://127.0.0.1:{bare_port}/", env),
        ):
            token = httpx.post(
                api + "/v1/oauth2/token",
                json={
                    "grant_type": "client_credentials",
                    "client_id": "bench",
                    "client_secret": "bench-secret",
                },
            ).json()["access_token"]
            if args.rate_limits == "on":
                raise_limits(token, data_dir, env)
            for n in range(args.instances):
                deployed = httpx.post(
                    api + "/v1/instances",
                    headers={"Authorization": f"Bearer {token}"},
                    json={
                        "instance_type": "CPU.4V.16G",
                        "image": "ubuntu-24.04",
                        "hostname": f"bench-{n}",
                        "description": "",
                        "location_code": "FIN-01",
                    },
                )
                deployed.raise_for_status()
            targets = {
                "bare ASGI app": (f"http://127.0.0.1:{bare_port}/", None),
                "GET /v1/instance-types": (api + "/v1/instance-types", token),
                "GET /v1/balance": (api + "/v1/balance", token),
                "GET /v1/instances": (api + "/v1/instances", token),
            }
            results: dict[str, list[float]] = {name: [] for name in targets}
            for _ in range(args.rounds):
                for name, (url, bearer) in targets.items():
                    results[name].append(wrk(url, args.duration, args.connections, bearer))

    baseline = statistics.median(results["bare ASGI app"])
    print(f"{'target':<26}{'req/s (median)':>16}{'ratio to bare':>16}")
    for name, values in results.items():
        median = statistics.median(values)
        print(f"{name:<26}{median:>16.0f}{median / baseline:>16.2f}")
    print(
        f"({args.rounds} rounds x {args.duration}s, {args.connections} connections, "
        f"wrk -t1, one uvicorn process each; the project runs {args.instances} instances; "
        f"rate limits {args.rate_limits})"
    )


if __name__ == "__main__":
    main()
