"""A deploy's cost in this process at two store sizes: CPU seconds, wall time and
statements per `POST /v1/instances`, and the store's plan for each of them.

    PYTHONPATH=src:. python bench/deploy_cost.py [--sizes 100,100000] [--deploys 200]
        [--postgres-url postgresql+psycopg://verda:verda@127.0.0.1:5432/postgres]
        [--instance-type CPU.4V.16G] [--plans]

Each store is generated directly (bench/store.py: projects of 100 running
instances, spread over the four locations); the server is built in this process
(the tests' live server: uvicorn in a thread, frozen clock, no sweep), capacity
is raised far above what the store holds, and a fresh project deploys
`--deploys` times in turn over the locations, after a few deploys of warm-up.
CPU is the whole process's (server and client), so compare sizes, not absolutes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent))
import store

PER_PROJECT = 100
SECRET = "bench-generated-secret"


@contextmanager
def counting(engine: Any) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def record(*args: Any) -> None:
        statement, parameters = args[2], args[3]
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def plan(engine: Any, statement: str, parameters: Any) -> str:
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            return "\n".join("  " + str(row[3]) for row in cursor.fetchall())
        cursor.execute("EXPLAIN " + statement, parameters)
        return "\n".join("  " + str(row[0]) for row in cursor.fetchall())
    finally:
        connection.rollback()
        connection.close()


def measure(url: str, size: int, deploys: int, instance_type: str, plans: bool) -> dict[str, Any]:
    from tests.support.live import start_live_server

    from verda_server.control import capacity as capacity_control
    from verda_server.projects import quotas

    store.migrate(url)
    store.generate(url, max(1, size // PER_PROJECT), min(size, PER_PROJECT), SECRET)
    with start_live_server(url, rate_limits=False) as live:
        ctx = live.context
        units = {instance_type: {"on_demand": 1_000_000}}
        capacity_control.update(
            ctx.shared, ctx.catalog, {code: {"instances": units} for code in store.LOCATIONS}
        )
        credentials = live.new_project(balance="100000000")
        with ctx.db.write() as session:
            quotas.set_quotas(
                session,
                credentials.project_id,
                {quotas.Kind.INSTANCES: 10_000, quotas.Kind.VOLUMES: 10_000},
            )
        http = httpx.Client(base_url=live.base_url, timeout=60)
        token = credentials.access_token(http)
        headers = {"Authorization": f"Bearer {token}"}

        def deploy(n: int) -> None:
            body = {
                "instance_type": instance_type,
                "image": "ubuntu-24.04",
                "hostname": "cost",
                "description": "",
                "location_code": store.LOCATIONS[n % len(store.LOCATIONS)],
            }
            response = http.post("/v1/instances", json=body, headers=headers)
            assert response.status_code == 202, response.text

        for n in range(8):
            deploy(n)
        with counting(ctx.db.engine) as seen:
            deploy(0)
        counted = [s for s in seen if not s[0].startswith(("BEGIN", "SAVEPOINT", "RELEASE"))]
        cpu, wall = [], []
        for n in range(deploys):
            c0, w0 = time.process_time(), time.perf_counter()
            deploy(n)
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
        if plans:
            for statement, parameters in counted:
                if statement.lstrip().startswith("SELECT"):
                    print(" ".join(statement.split())[:200], file=sys.stderr)
                    print(plan(ctx.db.engine, statement, parameters), file=sys.stderr)
        http.close()
    return {
        "size": size,
        "statements": len(counted),
        "cpu_ms": 1000 * statistics.median(cpu),
        "cpu_mean_ms": 1000 * statistics.fmean(cpu),
        "wall_ms": 1000 * statistics.median(wall),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,100000")
    parser.add_argument("--deploys", type=int, default=200)
    parser.add_argument("--postgres-url")
    parser.add_argument("--instance-type", default=store.INSTANCE_TYPE)
    parser.add_argument("--plans", action="store_true")
    args = parser.parse_args()
    backend = "postgresql" if args.postgres_url else "sqlite"
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            with store.database(args.postgres_url, Path(tmp), f"cost{size}") as url:
                row = measure(url, size, args.deploys, args.instance_type, args.plans)
            print(
                f"{backend:10} {row['size']:>7} stored: {row['statements']:>3} statements, "
                f"CPU {row['cpu_ms']:6.2f} ms (mean {row['cpu_mean_ms']:6.2f}), "
                f"wall {row['wall_ms']:6.2f} ms per deploy",
                flush=True,
            )


if __name__ == "__main__":
    main()
