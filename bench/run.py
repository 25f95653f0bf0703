"""Issue 9's goal table, measured: every row against a bare ASGI app in the same run.

    python bench/run.py [--quick] [--only 2,3] [--duration 3] [--rounds 3]
        [--postgres-url URL | --no-postgres] [--redis-url URL | --no-limits]

Rows (the numbers `--only` takes): 1 the bare ASGI app on the server's uvicorn
stack (the 1.00); 2-5 `GET /v1/instances` (50 instances), `/v1/instances/{id}`,
`/v1/volumes`, `/v1/balance` with a bearer token, 32 connections; 6 deploys, 8
connections; 7 a mixed load; 8 an item's p50 with 100 000 instances stored
against 100; 9 the list of 1 000 instances, 1 connection, and right after a
write; 10 start-up to a ready /healthz; 11 RSS with 10 000 instances stored.
Rows 1-7 run with rate limits off; rows 1-5 again with them on, in memory and
in Redis. Each row on SQLite, and on PostgreSQL when `--postgres-url` or
VERDA_TEST_POSTGRES_URL names a server (a database is created and dropped).

The server is pinned to core 0 and wrk (one thread) to core 1; targets are
loaded in turn, round after round, so that they share the machine's noise, and
each figure is the median over the rounds. The large stores are written
directly (bench/store.py), not through HTTP. The server is the installed one;
`PYTHONPATH=OTHER/src` measures another checkout. Needs wrk (apt-get install wrk).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from measure import Backend, Settings, backend_rows, log
from report import Line, header, table
from servers import CLIENT_CORE, SetupError, can_pin

POSTGRES_ENV = "VERDA_TEST_POSTGRES_URL"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def _rows(text: str) -> frozenset[int]:
    try:
        rows = frozenset(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of row numbers: {text!r}") from None
    if not rows <= frozenset(range(1, 12)):
        raise argparse.ArgumentTypeError("rows are numbered 1 to 11")
    return rows


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        epilog="\n".join((__doc__ or "").splitlines()[5:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--duration", type=int, help="seconds per wrk run (default 3; quick 1)")
    parser.add_argument("--rounds", type=int, help="rounds per phase (default 3; quick 1)")
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: short runs, smaller stores"
    )
    parser.add_argument("--only", type=_rows, default=frozenset(), help="e.g. 2,3 (rows 1-11)")
    parser.add_argument("--label", default="", help="what is measured, for the header")
    parser.add_argument("--postgres-url", default=os.environ.get(POSTGRES_ENV))
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument(
        "--no-limits", action="store_true", help="skip the rate-limits-on read rows"
    )
    return parser.parse_args(argv)


def _serve_knows() -> tuple[bool, bool]:
    """Whether the checkout's `serve` takes --rate-limits and --redis-url."""
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "verda_server", "serve", "--help"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise SetupError(f"`verda_server serve --help` failed:\n{done.stderr[-2000:]}")
    return "--rate-limits" in done.stdout, "--redis-url" in done.stdout


def _redis(url: str) -> str | None:
    try:
        import redis

        redis.Redis.from_url(url, socket_timeout=2).ping()
    except Exception as exc:
        log(f"Redis at {url} not reachable ({exc}): its rows are skipped")
        return None
    return url


def _settings(args: argparse.Namespace, log_dir: Path) -> Settings:
    duration = args.duration or (1 if args.quick else 3)
    rounds = args.rounds or (1 if args.quick else 3)
    redis_url = None if args.no_limits else _redis(args.redis_url)
    if not args.quick:
        return Settings(duration, rounds, args.only, log_dir, redis_url, not args.no_limits)
    return Settings(
        duration,
        rounds,
        args.only,
        log_dir,
        redis_url,
        not args.no_limits,
        scale_projects=100,
        list_projects=2,
        cold_pairs=5,
        starts=2,
    )


def _footer(s: Settings, backends: list[Backend], elapsed: float) -> str:
    pinned = "server on core 0, wrk on core 1" if can_pin() else "not pinned (one core)"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        f"{s.rounds} rounds x {s.duration} s per target (medians), wrk -t1, {pinned}; "
        "reads 32 connections, deploys 8; PostgreSQL on loopback, not pinned; "
        "servers keep compiled bytecode between starts.",
        f"Ran {elapsed / 60:.1f} min; load average at the end {load}.",
    ]
    for backend in backends:
        lines += [f"{backend.label}: {note}" for note in backend.notes]
    return "\n".join(lines)


def _keep_bytecode(cache: Path) -> None:
    """The servers measured keep their compiled bytecode between starts, as an
    installed package does (pip compiles it when installing): with
    PYTHONDONTWRITEBYTECODE set, a checkout's sources were compiled again on
    every start, a tenth of the time to start. Kept in the bench's own
    directory, not in the checkout."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(cache)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    if can_pin():
        os.sched_setaffinity(0, {CLIENT_CORE})
    started, clock = datetime.now(UTC), time.monotonic()
    top = header(started, args.label)
    with tempfile.TemporaryDirectory(prefix="verda-bench-") as tmp:
        directory = Path(tmp)
        _keep_bytecode(directory / "pycache")
        try:
            s = _settings(args, directory)
            rate_limits, redis_flag = _serve_knows()
            urls = [("SQLite", None)]
            if args.postgres_url and not args.no_postgres:
                urls.append(("PostgreSQL", args.postgres_url))
            backends = [
                Backend(label, url, directory, rate_limits, redis_flag) for label, url in urls
            ]
            lines: list[Line] = []
            for backend in backends:
                lines += backend_rows(backend, s)
        except SetupError as exc:
            print(f"bench setup failed: {exc}", file=sys.stderr)
            return 1
        except (RuntimeError, OSError) as exc:
            print(f"bench failed: {exc}", file=sys.stderr)
            return 1
        print(top)
        print()
        print(table(lines))
        print()
        print(_footer(s, backends, time.monotonic() - clock))
    return 0


if __name__ == "__main__":
    sys.exit(main())
