"""A py-spy profile of the server under one of the bench's loads.

    python bench/profile_load.py deploy|mixed|list|item [--duration 8] [--out FILE]

Sets up the bench's projects on a fresh SQLite store (bench/measure.py's
fixture), then records the server with py-spy while wrk sends the load, and
prints the functions that took most of the samples (self and total). `--out`
also writes py-spy's raw collapsed stacks (for flamegraph.pl or speedscope).
Needs py-spy (pip install py-spy) and wrk; run as root or with ptrace allowed.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import wrk
from api import LOCATIONS, Api, ssh_public_key
from measure import LIMITS_OFF, set_up
from servers import CLIENT_CORE, server

_LINE = re.compile(r":\d+\)$")
# Leaf frames of threads that wait (py-spy cannot always tell them idle here).
_WAITING = ("Condition.wait", "Event.wait", "Queue.get", "Runner.run", "select (", "sleep (")


def _script(load: str, api: Api) -> tuple[str, str | None, str | None, int]:
    """(path, token, Lua script, connections) of the load."""
    fx = set_up(api)
    if load == "deploy":
        return "/v1/instances", None, wrk.deploy_script(fx.deploys.token, LOCATIONS), 8
    if load == "mixed":
        script = wrk.mixed_script(
            fx.mixed.token, sorted(fx.mixed_keep), fx.mixed_spots, ssh_public_key(), LOCATIONS[1]
        )
        return "/v1/instances", None, script, 32
    if load == "item":
        return f"/v1/instances/{fx.item_id}", fx.reads.token, None, 32
    return "/v1/instances", fx.reads.token, None, 32


def _times(pid: int) -> tuple[float, float]:
    """User and system seconds of a live process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def _summary(collapsed: Path, top: int) -> str:
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = idle = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        # One entry per function, not per line of it.
        frames = [_LINE.sub(")", frame) for frame in stack.split(";")]
        if frames[-1].startswith(_WAITING):
            idle += n
            continue
        samples += n
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    lines = [f"{samples} samples on the CPU, {idle} waiting (left out)", "", "self %  function"]
    lines += [f"{100 * n / samples:6.1f}  {f}" for f, n in own.most_common(top)]
    lines += ["", "total %  function"]
    lines += [f"{100 * n / samples:6.1f}  {f}" for f, n in total.most_common(top)]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("load", choices=["deploy", "mixed", "list", "item"])
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="verda-profile-") as tmp:
        directory = Path(tmp)
        with server(f"sqlite:///{directory / 'store.db'}", directory, *LIMITS_OFF) as proc:
            api = Api(proc.url)
            path, token, script, connections = _script(args.load, api)
            collapsed = args.out or directory / "collapsed.txt"
            record = ["py-spy", "record", "--pid", str(proc.pid), "--format", "raw"]
            record += ["--rate", "250", "--duration", str(args.duration + 1)]
            spy = subprocess.Popen(
                [*record, "--output", str(collapsed), "--nonblocking"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            cpu = _times(proc.pid)
            run = wrk.run(proc.url + path, args.duration, connections, token, script, CLIENT_CORE)
            user, system = (b - a for a, b in zip(cpu, _times(proc.pid), strict=True))
            spy.wait()
            print(
                f"{args.load}: {run.rps:.0f} req/s under the profiler, {run.errors} errors; "
                f"server CPU {100 * (user + system) / args.duration:.0f} % of a core "
                f"({100 * system / args.duration:.0f} % in the kernel)"
            )
            print(_summary(collapsed, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
