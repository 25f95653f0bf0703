"""Throughput of deploys, and of a 90 % read / 10 % write mix, relative to a bare ASGI app.

Starts `verda-server serve` and the bare ASGI app (bare_app.py) on the same
uvicorn stack, each pinned with taskset to core 0, and loads them with wrk
pinned to core 1, in alternating rounds so that every target sees the same
machine noise. Prints requests/s, p50/p99 and the ratio to the bare app
measured in the same run.

    python bench/write_throughput.py [--duration 5] [--rounds 3] [--connections 8]
        [--database-url postgresql+psycopg://...] [--only deploy,mixed]

The bench project's instance and volume quotas, balance and capacity are
raised through the control API, and its resources are reset before each write
round (the addresses of a location run out at 4094 instances), so every round
starts from the same few instances. Deploys rotate over the four locations.

The mix, per 100 requests: 90 reads (GET /v1/instances, /v1/instances/{id},
/v1/balance, /v1/volumes in turn) and 10 writes (deploys, instance actions
alternating force_shutdown and start over a pool of instances, SSH key creations).

Rate limits are off (`--rate-limits on` keeps them, with the project's raised).
The server is the installed one; `PYTHONPATH=OTHER/src` measures another
checkout. Needs `wrk` (Debian: apt-get install wrk) and `taskset`.
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
ADMIN_TOKEN = "bench-admin-token-0123456789abcdef"
LOCATIONS = ("FIN-01", "FIN-02", "FIN-03", "ICE-01")
TYPE = "CPU.4V.16G"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGt3cVYc0Vx3VZzJ0n0Hf7t0vPpZq7J0PHRa1Bfv7rKx bench"
# Instances the mix acts on in turn: more than wrk has requests in flight, so
# the last action on one has always been answered before the next is sent.
ACTION_POOL = 24

DEPLOY_LUA = """
local locations = {%(locations)s}
local n = 0
request = function()
  n = n + 1
  local body = '{"instance_type":"%(type)s","image":"ubuntu-24.04","hostname":"bench",' ..
    '"description":"","location_code":"' .. locations[n %% #locations + 1] .. '"}'
  return wrk.format("POST", "/v1/instances", {
    ["Authorization"] = "Bearer %(token)s", ["Content-Type"] = "application/json"}, body)
end
"""

MIXED_LUA = """
local locations = {%(locations)s}
local pool = {%(pool)s}
local reads = {"/v1/instances", "/v1/instances/" .. pool[1], "/v1/balance", "/v1/volumes"}
local auth = "Bearer %(token)s"
local n, r, w, a = 0, 0, 0, 0
local json = {["Authorization"] = auth, ["Content-Type"] = "application/json"}
request = function()
  n = n + 1
  if n %% 10 ~= 0 then
    r = r + 1
    return wrk.format("GET", reads[r %% #reads + 1], {["Authorization"] = auth})
  end
  w = w + 1
  local kind = w %% 3
  if kind == 0 then
    return wrk.format("POST", "/v1/instances", json,
      '{"instance_type":"%(type)s","image":"ubuntu-24.04","hostname":"bench",' ..
      '"description":"","location_code":"' .. locations[w %% #locations + 1] .. '"}')
  elseif kind == 1 then
    a = a + 1
    local i = (a - 1) %% #pool + 1
    local action = (math.floor((a - 1) / #pool) %% 2 == 0) and "force_shutdown" or "start"
    return wrk.format("PUT", "/v1/instances", json,
      '{"action":"' .. action .. '","id":"' .. pool[i] .. '"}')
  end
  return wrk.format("POST", "/v1/sshkeys", json,
    '{"name":"bench-' .. w .. '","key":"%(key)s"}')
end
"""


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
def process(command: list[str], ready_url: str, env: dict[str, str]) -> Iterator[int]:
    proc = subprocess.Popen(
        ["taskset", "-c", "0", *command],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=HERE,
    )
    try:
        wait_for(ready_url)
        yield proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        print(f"(wrk printed a latency of {text!r})", file=sys.stderr)
        return float("nan")
    value, unit = match.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(
    url: str, duration: int, connections: int, script: str | None, pid: int
) -> tuple[float, float, float, float]:
    """req/s, p50 and p99 in ms, and the server's CPU ms per request (which other
    load on the machine disturbs less than req/s); any non-2xx answer fails the run."""
    cpu = cpu_seconds(pid)
    command = ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{duration}s"]
    command += ["--latency", url]
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        if script is not None:
            lua.write(script)
            lua.flush()
            command[-1:-1] = ["-s", lua.name]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE)
    requests = re.search(r"(\d+) requests in", out)
    if rate is None or p50 is None or p99 is None or requests is None or "Non-2xx" in out:
        raise RuntimeError(f"wrk run failed or saw errors:\n{out}")
    cpu_ms = (cpu_seconds(pid) - cpu) * 1000 / max(1, int(requests.group(1)))
    return float(rate.group(1)), _ms(p50.group(1)), _ms(p99.group(1)), cpu_ms


class Bench:
    def __init__(self, api: str, token: str) -> None:
        self.api = api
        self.token = token
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        self.project_id: str = claims["project_id"]
        self.admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        self.user = {"Authorization": f"Bearer {token}"}

    def _check(self, response: httpx.Response) -> httpx.Response:
        if response.is_error:
            raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")
        return response

    def prepare(self) -> None:
        """Quotas to the hard maximum and capacity far above what a round deploys."""
        admin = f"{self.api}/_admin/v1"
        self._check(
            httpx.put(
                f"{admin}/projects/{self.project_id}/quotas",
                json={"instances": 10_000, "volumes": 10_000},
                headers=self.admin,
            )
        )
        units = {TYPE: {"on_demand": 1_000_000}}
        self._check(
            httpx.put(
                f"{admin}/capacity",
                json={"locations": {code: {"instances": units} for code in LOCATIONS}},
                headers=self.admin,
            )
        )

    def reset(self, instances: int) -> list[str]:
        """The project back to its start, with money and `instances` deployed."""
        admin = f"{self.api}/_admin/v1"
        self._check(
            httpx.post(f"{admin}/reset", json={"project_id": self.project_id}, headers=self.admin)
        )
        self._check(
            httpx.post(
                f"{admin}/projects/{self.project_id}/balance",
                json={"amount": "100000000"},
                headers=self.admin,
            )
        )
        return [
            self._check(
                httpx.post(
                    f"{self.api}/v1/instances",
                    headers=self.user,
                    json={
                        "instance_type": TYPE,
                        "image": "ubuntu-24.04",
                        "hostname": f"bench-{n}",
                        "description": "",
                        "location_code": LOCATIONS[n % len(LOCATIONS)],
                    },
                )
            ).text
            for n in range(instances)
        ]

    def script(self, template: str, pool: list[str]) -> str:
        return template % {
            "locations": ", ".join(f'"{code}"' for code in LOCATIONS),
            "pool": ", ".join(f'"{i}"' for i in pool),
            "type": TYPE,
            "token": self.token,
            "key": KEY,
        }


@contextmanager
def postgres_database(url: str) -> Iterator[str]:
    """A fresh database beside the one `url` names, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"verda_bench_{os.getpid()}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--database-url", default=None, help="PostgreSQL (default: SQLite)")
    parser.add_argument("--only", default="deploy,mixed", help="targets beside the bare app")
    parser.add_argument("--rate-limits", choices=("on", "off"), default="off")
    parser.add_argument(
        "--profile",
        default=None,
        help="py-spy record the server into this SVG (.txt: collapsed stacks)",
    )
    args = parser.parse_args()
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed")
    with (
        postgres_database(args.database_url)
        if args.database_url
        else tempfile.TemporaryDirectory() as where
    ):
        run(args, where)


def run(args: argparse.Namespace, where: str) -> None:
    env = {
        **os.environ,
        "VERDA_CLIENT_ID": "bench",
        "VERDA_CLIENT_SECRET": "bench-secret",
        "VERDA_SERVER_RATE_LIMITS": args.rate_limits,
    }
    server_port, bare_port = free_port(), free_port()
    store = ["--database-url", where] if args.database_url else ["--data-dir", where]
    server = [sys.executable, "-m", "verda_server", "serve", "--port", str(server_port), *store]
    server += ["--log-level", "warning", "--admin-token", ADMIN_TOKEN]
    bare = [sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(bare_port)]
    bare += ["--log-level", "warning", "--no-server-header"]
    api = f"http://127.0.0.1:{server_port}"
    wanted = args.only.split(",")
    results: dict[str, list[tuple[float, float, float, float]]] = {"bare ASGI app": []}
    with (
        process(server, api + "/healthz", env) as server_pid,
        process(bare, f"http://127.0.0.1:{bare_port}/", env) as bare_pid,
    ):
        token = httpx.post(
            api + "/v1/oauth2/token",
            json={
                "grant_type": "client_credentials",
                "client_id": "bench",
                "client_secret": "bench-secret",
            },
        ).json()["access_token"]
        bench = Bench(api, token)
        bench.prepare()
        if args.rate_limits == "on":
            command = [sys.executable, "-m", "verda_server", "admin", "--url", api]
            command += ["--admin-token", ADMIN_TOKEN, "rate-limits", "set", bench.project_id]
            command += ["--project", "1000000", "--endpoint", "1000000"]
            subprocess.run(command, env=env, check=True, capture_output=True, cwd=HERE)
        profiler = None
        if args.profile:
            profiler = subprocess.Popen(
                ["py-spy", "record", "-o", args.profile, "--pid", str(server_pid), "-r", "200"]
                + (["-f", "raw"] if args.profile.endswith(".txt") else []),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        for _ in range(args.rounds):
            results["bare ASGI app"].append(
                wrk(
                    f"http://127.0.0.1:{bare_port}/",
                    args.duration,
                    args.connections,
                    None,
                    bare_pid,
                )
            )
            if "deploy" in wanted:
                bench.reset(3)
                script = bench.script(DEPLOY_LUA, [])
                results.setdefault("POST /v1/instances (deploy)", []).append(
                    wrk(api + "/v1/instances", args.duration, args.connections, script, server_pid)
                )
            if "mixed" in wanted:
                pool = bench.reset(ACTION_POOL)
                script = bench.script(MIXED_LUA, pool)
                results.setdefault("mixed 90 % reads / 10 % writes", []).append(
                    wrk(api + "/v1/instances", args.duration, args.connections, script, server_pid)
                )
        if profiler is not None:
            profiler.send_signal(2)
            profiler.wait(timeout=60)

    baseline = statistics.median(r[0] for r in results["bare ASGI app"])
    print(f"{'target':<34}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'ratio':>10}{'CPU ms/req':>12}")
    for name, values in results.items():
        rate = statistics.median(v[0] for v in values)
        p50 = statistics.median(v[1] for v in values)
        p99 = statistics.median(v[2] for v in values)
        cpu = statistics.median(v[3] for v in values)
        print(
            f"{name:<34}{rate:>10.0f}{p50:>10.2f}{p99:>10.2f}{rate / baseline:>10.4f}{cpu:>12.3f}"
        )
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(
        f"({backend}; {args.rounds} rounds x {args.duration}s, {args.connections} connections, "
        f"wrk -t1 on core 1, one uvicorn process each on core 0; medians; "
        f"rate limits {args.rate_limits})"
    )


if __name__ == "__main__":
    main()
