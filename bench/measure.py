"""The rows of issue 9's goal table, measured on one store backend."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import store
import wrk
from api import LOCATIONS, SPOT_LOCATION, Api, Project, ssh_public_key
from report import Line, grouped
from servers import (
    CLIENT_CORE,
    CLIENT_ID,
    CLIENT_SECRET,
    Proc,
    SetupError,
    bare_app,
    rss_mib,
    server,
    start_seconds,
)

READS = {2: "list", 3: "item", 4: "volumes", 5: "balance"}
LIMITS_OFF = ("--rate-limits", "off")
GENERATED_SECRET = "bench-generated-secret"
STARTED = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:6.1f} s] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Settings:
    duration: int
    rounds: int
    only: frozenset[int]
    log_dir: Path
    redis_url: str | None
    limiter_rows: bool = True
    read_connections: int = 32
    deploy_connections: int = 8
    # Row 8: projects of 100 instances in the large store; rows 9 and 11: projects
    # of `list_size` instances.
    scale_projects: int = 1000
    list_projects: int = 10
    list_size: int = 1000
    cold_pairs: int = 20
    starts: int = 5

    def wants(self, *rows: int) -> bool:
        return not self.only or any(row in self.only for row in rows)


@dataclass(frozen=True)
class Backend:
    label: str
    postgres_admin_url: str | None
    directory: Path
    # What the measured checkout's `serve` knows (an older one may lack these).
    has_rate_limits: bool = True
    has_redis: bool = True
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    connections: int
    token: str | None = None
    script: str | None = None
    # Run before each round, outside the measured time.
    before: Callable[[], None] | None = None
    # The process answering, checked before each run.
    proc: Proc | None = None


def alternate(targets: list[Target], s: Settings) -> dict[str, wrk.Summary]:
    """Each round loads every target in turn, so that all of them share the noise."""
    runs: dict[str, list[wrk.Run]] = {t.name: [] for t in targets}
    for n in range(s.rounds):
        for t in targets:
            if t.proc is not None and t.proc.process.poll() is not None:
                raise SetupError(f"{t.name}: the process under test exited:\n{t.proc.tail()}")
            if t.before is not None:
                t.before()
            log(f"  round {n + 1}/{s.rounds}: {t.name}")
            runs[t.name].append(
                wrk.run(t.url, s.duration, t.connections, t.token, t.script, CLIENT_CORE)
            )
    return {name: wrk.Summary.of(r) for name, r in runs.items()}


@dataclass(frozen=True)
class Fixture:
    reads: Project
    item_id: str
    deploys: Project
    mixed: Project
    mixed_keep: frozenset[str]
    mixed_spots: list[str]


def set_up(api: Api) -> Fixture:
    """Project A: 50 instances and 5 more volumes (the read rows); B: empty, for
    deploys; C: 45 instances and 5 spot ones (the mixed load). Every one with the
    quota, money and capacity for what the bench sends."""
    api.raise_capacity()
    default = api.default_project_id()
    api.make_roomy(default)
    reads = Project(default, api.token(CLIENT_ID, CLIENT_SECRET))
    ids = [api.deploy(reads.token, LOCATIONS[n % len(LOCATIONS)]) for n in range(50)]
    for n in range(5):
        api.add_volume(reads.token, n)
    mixed = api.new_project("bench mixed load")
    mixed_ids = [api.deploy(mixed.token, LOCATIONS[n % len(LOCATIONS)]) for n in range(45)]
    spots = [api.deploy(mixed.token, SPOT_LOCATION, spot=True) for _ in range(5)]
    deploys = api.new_project("bench deploys")
    # Past provisioning by the server's clock; the reads below apply it.
    api.advance_clock(10)
    for project in (reads, mixed):
        api.public(project.token, "GET", "/v1/instances")
    return Fixture(reads, ids[len(ids) // 2], deploys, mixed, frozenset(mixed_ids + spots), spots)


def _read_targets(url: str, fx: Fixture, s: Settings, proc: Proc | None) -> list[Target]:
    paths = {
        "list": "/v1/instances",
        "item": f"/v1/instances/{fx.item_id}",
        "volumes": "/v1/volumes",
        "balance": "/v1/balance",
    }
    return [
        Target(name, url + paths[name], s.read_connections, fx.reads.token, proc=proc)
        for row, name in READS.items()
        if s.wants(row)
    ]


def _write_targets(api: Api, srv: Proc, fx: Fixture, s: Settings) -> list[Target]:
    url = srv.url
    targets = []
    if s.wants(6):
        targets.append(
            Target(
                "deploy",
                url + "/v1/instances",
                s.deploy_connections,
                script=wrk.deploy_script(fx.deploys.token, LOCATIONS),
                # Each round deploys into an empty project.
                before=lambda: api.reset(fx.deploys.id),
                proc=srv,
            )
        )
    if s.wants(7):
        mixed = wrk.mixed_script(
            fx.mixed.token, sorted(fx.mixed_keep), fx.mixed_spots, ssh_public_key(), LOCATIONS[1]
        )

        def clean() -> None:
            api.delete_instances_but(fx.mixed.token, set(fx.mixed_keep))
            api.delete_ssh_keys(fx.mixed.token)

        targets.append(
            Target("mixed", url + "/v1/instances", s.read_connections, None, mixed, clean, srv)
        )
    return targets


WHAT = {
    "list": "`GET /v1/instances`, 50 instances",
    "item": "`GET /v1/instances/{id}`",
    "volumes": "`GET /v1/volumes`, 55 volumes",
    "balance": "`GET /v1/balance`",
    "deploy": "`POST /v1/instances` (deploy), 8 connections",
    "mixed": "mixed: 90 % reads (list, item) / 10 % writes (deploy, configure_spot, SSH key)",
}
ROW = {"list": 2, "item": 3, "volumes": 4, "balance": 5, "deploy": 6, "mixed": 7}
GOAL = {
    "list": 0.10,
    "item": 0.15,
    "volumes": 0.15,
    "balance": 0.15,
    "deploy": 0.02,
    "mixed": 0.05,
}
GOAL_TEXT = {"list": "≥ 0.10 (aim 0.25)", "deploy": "≥ 0.02 (aim 0.05)"}


def _lines(
    results: dict[str, wrk.Summary], label: str, limits: str, off: dict[str, wrk.Summary]
) -> list[Line]:
    bare = results["bare"]
    lines = [
        Line(
            1,
            "bare ASGI app (fixed body), 32 connections",
            label,
            limits,
            bare.rps,
            bare.p50_ms,
            bare.p99_ms,
            1.0,
            errors=bare.errors,
            error_note="non-2xx/socket",
        )
    ]
    for name, summary in results.items():
        if name == "bare":
            continue
        ratio = summary.rps / bare.rps if bare.rps > 0 else 0.0
        line = Line(
            ROW[name],
            WHAT[name],
            label,
            limits,
            summary.rps,
            summary.p50_ms,
            summary.p99_ms,
            ratio,
            errors=summary.errors,
            error_note="non-2xx/socket",
        )
        if summary.requests == 0:
            line.result = "no request completed"
        if limits == "off":
            line.goal = GOAL_TEXT.get(name, f"≥ {GOAL[name]:.2f}")
            line.met = ratio >= GOAL[name] and summary.errors == 0
        elif name in off and off[name].rps > 0:
            change = summary.rps / off[name].rps - 1
            line.result = f"{change:+.0%} req/s vs limits off"
        lines.append(line)
    return lines


def throughput_rows(backend: Backend, database_url: str, s: Settings) -> list[Line]:
    """Rows 1 to 7 with rate limits off, then the read rows with them on (in
    memory, then in Redis), each phase against the bare app of the same rounds."""
    if not s.wants(1, 2, 3, 4, 5, 6, 7):
        return []
    lines: list[Line] = []
    with bare_app(s.log_dir) as bare:
        with server(database_url, s.log_dir, *LIMITS_OFF) as srv:
            api = Api(srv.url)
            try:
                log(f"{backend.label}: setting up projects A (reads), B (deploys), C (mixed)")
                fx = set_up(api)
                targets = [Target("bare", bare.url + "/", s.read_connections, proc=bare)]
                targets += _read_targets(srv.url, fx, s, srv) + _write_targets(api, srv, fx, s)
                log(f"{backend.label}: rate limits off")
                off = alternate(targets, s)
            finally:
                api.close()
        lines += _lines(off, backend.label, "off", off)
        for limits, flags in _limiter_phases(backend, s):
            reads = _read_targets("", fx, s, None)
            if not reads:
                break
            with server(database_url, s.log_dir, *flags) as srv:
                api = Api(srv.url)
                try:
                    api.raise_rate_limits(fx.reads.id)
                finally:
                    api.close()
                targets = [Target("bare", bare.url + "/", s.read_connections, proc=bare)]
                targets += [Target(t.name, srv.url + t.url, t.connections, t.token) for t in reads]
                log(f"{backend.label}: rate limits {limits}")
                lines += _lines(alternate(targets, s), backend.label, limits, off)
    return lines


def _limiter_phases(backend: Backend, s: Settings) -> list[tuple[str, tuple[str, ...]]]:
    if not s.limiter_rows:
        return []
    if not backend.has_rate_limits:
        backend.notes.append("this checkout's serve has no --rate-limits: limiter rows skipped")
        return []
    phases = [("on, in memory", ("--rate-limits", "on"))]
    if s.redis_url is None:
        backend.notes.append("no Redis reachable: the Redis limiter rows are skipped")
    elif not backend.has_redis:
        backend.notes.append("this checkout's serve has no --redis-url: Redis rows skipped")
    else:
        phases.append(("on, Redis", ("--rate-limits", "on", "--redis-url", s.redis_url)))
    return phases


@contextmanager
def generated(
    backend: Backend, name: str, projects: int, per_project: int, s: Settings
) -> Iterator[tuple[str, list[store.Generated]]]:
    """A new store, migrated, then filled directly."""
    with store.database(backend.postgres_admin_url, backend.directory, name) as url:
        if not store.migrate(url):
            with server(url, s.log_dir, *LIMITS_OFF):
                pass
        started = time.monotonic()
        made = store.generate(url, projects, per_project, GENERATED_SECRET)
        log(
            f"{backend.label}: generated {projects * per_project} instances in "
            f"{projects} projects in {time.monotonic() - started:.1f} s"
        )
        yield url, made


def scale_row(backend: Backend, s: Settings) -> list[Line]:
    """Row 8: one item's latency (1 connection) with 100 instances stored, and
    with 100 per project in many projects, alternating."""
    if not s.wants(8):
        return []
    large = s.scale_projects * 100
    with (
        generated(backend, "small", 1, 100, s) as (small_url, small),
        generated(backend, "large", s.scale_projects, 100, s) as (large_url, big),
        server(small_url, s.log_dir, *LIMITS_OFF) as small_srv,
        server(large_url, s.log_dir, *LIMITS_OFF) as large_srv,
    ):
        targets = []
        for name, srv, made in (
            ("100", small_srv, small[0]),
            ("large", large_srv, big[len(big) // 2]),
        ):
            api = Api(srv.url)
            try:
                token = api.token(made.client_id, GENERATED_SECRET)
            finally:
                api.close()
            targets.append(
                Target(name, f"{srv.url}/v1/instances/{made.instance_ids[50]}", 1, token)
            )
        log(f"{backend.label}: item latency, 100 vs {large} stored")
        got = alternate(targets, s)
    few, many = got["100"], got["large"]
    ratio = many.p50_ms / few.p50_ms if many.p50_ms and few.p50_ms else float("inf")
    what = "`GET /v1/instances/{id}`, 1 connection"
    return [
        Line(
            8,
            f"{what}, 100 instances stored",
            backend.label,
            "off",
            few.rps,
            few.p50_ms,
            few.p99_ms,
            errors=few.errors,
        ),
        Line(
            8,
            f"{what}, {grouped(large)} stored ({s.scale_projects} projects)",
            backend.label,
            "off",
            many.rps,
            many.p50_ms,
            many.p99_ms,
            result=f"p50 {ratio:.2f}x that with 100",
            goal="p50 ≤ 1.2x that with 100",
            met=ratio <= 1.2,
            errors=many.errors,
        ),
    ]


def _rss_after_reads(api: Api, pid: int, made: list[store.Generated], s: Settings) -> Line:
    idle = rss_mib(pid)
    tokens = [api.token(g.client_id, GENERATED_SECRET) for g in made]
    for token in tokens:
        listed = api.public(token, "GET", "/v1/instances")
        assert len(listed) >= s.list_size, "a generated project lists fewer instances"
    paths, owners = store.instance_paths(made)
    run = wrk.run(
        api.url,
        s.duration,
        8,
        script=wrk.cycle_script(paths, [tokens[o] for o in owners]),
        core=CLIENT_CORE,
    )
    after = rss_mib(pid)
    stored = len(paths)
    return Line(
        11,
        f"server RSS, {grouped(stored)} instances stored, after reading every list and "
        f"{grouped(run.requests)} items",
        "",
        "off",
        result=f"{after:.0f} MiB (idle {idle:.0f})",
        goal="≤ 150 MB",
        met=after <= 150,
        errors=run.errors,
    )


def _cold_reads(api: Api, token: str, pairs: int) -> tuple[float, float]:
    """Median latency of a list read right after a write to the project (a
    deploy), and without one, from the same client."""
    headers = {"Authorization": f"Bearer {token}"}

    def timed() -> float:
        started = time.perf_counter()
        response = api.http.get("/v1/instances", headers=headers)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"list read: {response.status_code}")
        return elapsed * 1000

    cold, warm = [], []
    for n in range(pairs):
        api.deploy(token, LOCATIONS[n % len(LOCATIONS)])
        cold.append(timed())
        warm.append(timed())
    return statistics.median(cold), statistics.median(warm)


def list_and_rss_rows(backend: Backend, s: Settings) -> list[Line]:
    """Rows 9 and 11 on one store of `list_projects` projects of `list_size` instances."""
    if not s.wants(9, 11):
        return []
    lines: list[Line] = []
    with (
        generated(backend, "lists", s.list_projects, s.list_size, s) as (url, made),
        server(url, s.log_dir, *LIMITS_OFF) as srv,
    ):
        api = Api(srv.url)
        try:
            if s.wants(11):
                log(f"{backend.label}: RSS with {len(made) * s.list_size} instances stored")
                line = _rss_after_reads(api, srv.pid, made, s)
                line.store = backend.label
                lines.append(line)
            if s.wants(9):
                lines += _list_rows(api, srv.url, made[0], backend.label, s)
        finally:
            api.close()
    return lines


def _list_rows(api: Api, url: str, made: store.Generated, label: str, s: Settings) -> list[Line]:
    log(f"{label}: list of {s.list_size}, 1 connection; then reads after writes")
    token = api.token(made.client_id, GENERATED_SECRET)
    got = alternate([Target("list", url + "/v1/instances", 1, token)], s)["list"]
    api.raise_capacity()
    cold, warm = _cold_reads(api, token, s.cold_pairs)
    what = f"`GET /v1/instances`, {grouped(s.list_size)} instances in the project"
    return [
        Line(
            9,
            f"{what}, 1 connection",
            label,
            "off",
            got.rps,
            got.p50_ms,
            got.p99_ms,
            goal="p50 ≤ 10 ms",
            met=got.p50_ms is not None and got.p50_ms <= 10,
            errors=got.errors,
        ),
        Line(
            9,
            f"{what}, right after a deploy (median of {s.cold_pairs})",
            label,
            "off",
            p50_ms=cold,
            result=f"{warm:.1f} ms without the write (same client)",
        ),
    ]


def startup_row(backend: Backend, database_url: str, s: Settings) -> list[Line]:
    """Row 10: spawn to a ready /healthz on an already migrated store."""
    if not s.wants(10):
        return []
    if not s.wants(1, 2, 3, 4, 5, 6, 7):
        with server(database_url, s.log_dir):
            pass  # migrated, default project made
    log(f"{backend.label}: {s.starts} starts")
    starts = [start_seconds(database_url, s.log_dir) for _ in range(s.starts)]
    times, cpu = [wall for wall, _ in starts], [used for _, used in starts]
    median = statistics.median(times)
    return [
        Line(
            10,
            f"start-up to a ready `/healthz`, existing store (median of {s.starts})",
            backend.label,
            "on (default)",
            result=f"{median:.2f} s ({min(times):.2f} to {max(times):.2f}); "
            f"CPU {statistics.median(cpu):.2f} s",
            goal="≤ 0.5 s",
            met=median <= 0.5,
        )
    ]


def backend_rows(backend: Backend, s: Settings) -> list[Line]:
    lines: list[Line] = []
    with store.database(backend.postgres_admin_url, backend.directory, "main") as url:
        lines += throughput_rows(backend, url, s)
        lines += startup_row(backend, url, s)
    lines += scale_row(backend, s)
    lines += list_and_rss_rows(backend, s)
    return sorted(lines, key=lambda line: line.row)
