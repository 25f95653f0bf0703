"""The token endpoint under a flood of wrong client secrets.

Starts `verda-server serve` (SQLite) as a child process, takes one legitimate
grant, then has wrk keep CONCURRENCY grants with a wrong secret for the known
client id in flight for DURATION seconds: once with one wrong secret repeated,
once with a different wrong secret each time (each one needs a real scrypt
check). During each flood a legitimate grant (its pair already checked once) is
taken every half second. Prints the flood's throughput and status codes, the
legitimate grants' latency, and the server's resident memory before, at the peak
of, and after the floods.

    python bench/token_flood.py [--concurrency 200] [--duration 10] [--src DIR]

`--src` names the source tree the server runs from (default: this checkout's
src/), so the same script measures another branch. Needs wrk and Linux (/proc).
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.process import run_server  # noqa: E402

CLIENT_ID, SECRET = "flood-client", "the-right-secret"

# Counts the status codes; a different secret per request when DISTINCT is set.
_WRK_SCRIPT = """
local n = 0
local distinct = %(distinct)s
local counts = {}
request = function()
  n = n + 1
  local secret = distinct and ("wrong-" .. n .. "-" .. math.random(1e9)) or "wrong-secret"
  local body = '{"grant_type":"client_credentials","client_id":"%(client_id)s",'
    .. '"client_secret":"' .. secret .. '"}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
response = function(status)
  counts[status] = (counts[status] or 0) + 1
  _G["s" .. status] = counts[status]
end
local threads = {}
setup = function(thread) table.insert(threads, thread) end
done = function()
  for _, code in ipairs({200, 401, 500, 503}) do
    local total = 0
    for _, t in ipairs(threads) do total = total + (t:get("s" .. code) or 0) end
    if total > 0 then io.write("status ", code, " ", total, "\\n") end
  end
end
"""


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class PeakRss:
    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, rss_mib(pid), threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, rss_mib(self.pid))

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def grant(base_url: str, secret: str) -> httpx.Response:
    return httpx.post(
        base_url + "/v1/oauth2/token",
        json={"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": secret},
        timeout=60,
    )


def flood(base_url: str, concurrency: int, duration: float, distinct: bool) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(
            _WRK_SCRIPT % {"distinct": "true" if distinct else "false", "client_id": CLIENT_ID}
        )
        script.flush()
        wrk = subprocess.Popen(
            [
                "wrk",
                "-t1",
                f"-c{concurrency}",
                f"-d{duration:g}s",
                "-s",
                script.name,
                base_url + "/v1/oauth2/token",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        time.sleep(1)  # let the flood build up
        latencies, codes = [], []
        while wrk.poll() is None and len(latencies) < 2 * (duration - 2):
            started = time.monotonic()
            codes.append(grant(base_url, SECRET).status_code)
            latencies.append(time.monotonic() - started)
            time.sleep(0.5)
        out, _ = wrk.communicate()
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    statuses = dict(re.findall(r"status (\d+) (\d+)", out))
    kind = "a different wrong secret each" if distinct else "one wrong secret repeated"
    print(
        f"flood, {kind}: {float(rate.group(1)) if rate else 0:.0f} responses/s, statuses {statuses}"
    )
    print(
        f"  legitimate grants: median {statistics.median(latencies) * 1000:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms, statuses {sorted(set(codes))} "
        f"({len(latencies)} grants)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--src", type=Path, default=ROOT / "src")
    args = parser.parse_args()

    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "VERDA_CLIENT_ID": CLIENT_ID,
            "VERDA_CLIENT_SECRET": SECRET,
            "PYTHONPATH": str(args.src.resolve()),
        }
        with run_server("--data-dir", tmp, env=env, module=True) as server:
            pid = server.process.pid
            warm = grant(server.base_url, SECRET)
            assert warm.status_code == 200, warm.text
            before = rss_mib(pid)
            with PeakRss(pid) as peak:
                for distinct in (False, True):
                    flood(server.base_url, args.concurrency, args.duration, distinct)
                time.sleep(2)
            after = rss_mib(pid)
            print(
                f"server RSS: before {before:.0f} MiB, peak {peak.peak:.0f} MiB, "
                f"2 s after {after:.0f} MiB"
            )
    print(f"({args.concurrency} concurrent, {args.duration:g} s each, source {args.src})")


if __name__ == "__main__":
    main()
