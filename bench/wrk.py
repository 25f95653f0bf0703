"""wrk runs and what they print: requests/s, the latency percentiles, the errors."""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass

from servers import pinned

_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True)
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    # Responses that were not 2xx/3xx, and connect/read/write/timeout errors.
    non2xx: int
    socket_errors: int

    @property
    def errors(self) -> int:
        return self.non2xx + self.socket_errors


@dataclass(frozen=True)
class Summary:
    """The median of each figure over the rounds; errors summed."""

    rps: float
    # None when no run completed a request (nothing to take a latency of).
    p50_ms: float | None
    p99_ms: float | None
    errors: int
    requests: int

    @classmethod
    def of(cls, runs: Sequence[Run]) -> Summary:
        answered = [r for r in runs if r.requests > 0]
        return cls(
            rps=statistics.median(r.rps for r in runs),
            p50_ms=statistics.median(r.p50_ms for r in answered) if answered else None,
            p99_ms=statistics.median(r.p99_ms for r in answered) if answered else None,
            errors=sum(r.errors for r in runs),
            requests=sum(r.requests for r in runs),
        )


def _millis(value: str, unit: str) -> float:
    return float(value) * _UNIT[unit]


def parse(out: str) -> Run:
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    found = {
        p: _millis(*m.groups())
        for p in ("50", "99")
        if (m := re.search(rf"^\s+{p}(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)\b", out, re.M))
    }
    if rate is None or total is None or len(found) < 2:
        raise RuntimeError(f"could not read wrk's output:\n{out}")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    return Run(
        rps=float(rate.group(1)),
        p50_ms=found["50"],
        p99_ms=found["99"],
        requests=int(total.group(1)),
        non2xx=int(non2xx.group(1)) if non2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
    )


def run(
    url: str,
    duration: float,
    connections: int,
    token: str | None = None,
    script: str | None = None,
    core: int | None = None,
) -> Run:
    """One wrk run (one thread); `script` is Lua source."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency"]
    # A slow answer is a slow answer (its latency counts), not a socket error.
    command += ["--timeout", "30s"]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        if script is not None:
            lua.write(script)
            lua.flush()
            command += ["-s", lua.name]
        done = subprocess.run(
            pinned([*command, url], core), capture_output=True, text=True, timeout=duration + 60
        )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return parse(done.stdout)


def _lua(value: object) -> str:
    """A Lua literal of a str, a number or a list of those (JSON strings are Lua strings)."""
    if isinstance(value, list):
        return "{" + ", ".join(_lua(v) for v in value) + "}"
    return json.dumps(value)


DEPLOY_BODY = (
    '{"instance_type":"CPU.4V.16G","image":"ubuntu-24.04","hostname":"bench",'
    '"description":"bench","location_code":"%s"}'
)


def _headers(token: str) -> str:
    # wrk.format replaces wrk.headers (and the -H ones) by the table it is given.
    return f"""
local function headers()
  return {{["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. {_lua(token)}}}
end
"""


def deploy_script(token: str, locations: list[str]) -> str:
    """POST /v1/instances, spread over the locations (each has its own address pool)."""
    return (
        _headers(token)
        + f"""
local locations = {_lua(locations)}
local body = {_lua(DEPLOY_BODY)}
local n = 0
request = function()
  n = n + 1
  local where = locations[(n % #locations) + 1]
  return wrk.format("POST", "/v1/instances", headers(), string.format(body, where))
end
"""
    )


def mixed_script(
    token: str, item_ids: list[str], spot_ids: list[str], ssh_key: str, location: str
) -> str:
    """Of every 30 requests, 27 reads (the list and an item, in turn) and 3 writes:
    a deploy, `configure_spot` on a spot instance (a real write that changes no
    status, so it never gets refused), an SSH key."""
    return (
        _headers(token)
        + f"""
local items = {_lua(item_ids)}
local spots = {_lua(spot_ids)}
local key = {_lua(ssh_key)}
local deploy = string.format({_lua(DEPLOY_BODY)}, {_lua(location)})
local n = 0
request = function()
  n = n + 1
  local k = n % 30
  if k == 0 then
    return wrk.format("POST", "/v1/instances", headers(), deploy)
  elseif k == 10 then
    local id = spots[(n % #spots) + 1]
    return wrk.format("PUT", "/v1/instances", headers(),
      '{{"action":"configure_spot","id":"' .. id .. '"}}')
  elseif k == 20 then
    return wrk.format("POST", "/v1/sshkeys", headers(),
      '{{"name":"bench-' .. n .. '","key":"' .. key .. '"}}')
  elseif k % 2 == 0 then
    return wrk.format("GET", "/v1/instances", headers())
  end
  return wrk.format("GET", "/v1/instances/" .. items[(n % #items) + 1], headers())
end
"""
    )


def cycle_script(paths: list[str], tokens: list[str]) -> str:
    """GET each path in turn, each with its own bearer token."""
    return f"""
local paths = {_lua(paths)}
local tokens = {_lua(tokens)}
local n = 0
request = function()
  n = n + 1
  local i = (n % #paths) + 1
  return wrk.format("GET", paths[i], {{["Authorization"] = "Bearer " .. tokens[i]}})
end
"""
