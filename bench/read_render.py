"""What a read costs to render (a response-cache miss), in-process and over HTTP.

Builds a store with one project of `--instances` instances (a few deployed
through the service, with keys, tags, volumes, spot and long-term contracts,
then copied row by row), optionally `--others` more instances spread over other
projects, and times:

- render: the route's own function and the response serialisation FastAPI would
  add to it (validate + dump of `response_model` when the handler returns
  models), without dependencies or middlewares; median of `--repeat`, wall
  clock and the thread's CPU time (steadier on a shared machine);
- http: a GET through the whole stack (uvicorn in a thread); median of `--repeat`;
- queries: statements per GET.

    PYTHONPATH=src python bench/read_render.py [--instances 1000] [--others 0]
        [--repeat 50] [--database-url URL]

`PYTHONPATH=OTHER/src` measures another checkout with the same script.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import socket
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi.routing import APIRoute, serialize_response
from sqlalchemy import event, insert, select
from starlette.responses import Response

from verda_server.app import ROUTERS, Server, build
from verda_server.auth.service import Principal
from verda_server.availability import capacity
from verda_server.clock import Clock
from verda_server.config import Lifecycle, Settings, sqlite_url
from verda_server.instances import deploy
from verda_server.instances.models import Instance, InstanceSshKey
from verda_server.instances.schemas import DeployInstancePublicDto
from verda_server.projects import service as projects
from verda_server.ssh_keys import service as ssh_keys
from verda_server.tags.models import TagLink
from verda_server.volumes.models import Volume, VolumeAttachment, VolumeSshKey

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq0NmT2k1fXyQ0m9yV5cS8m7d2cQ3x1cWq3Yh0J6y2B bench"
TEMPLATES: list[dict[str, Any]] = [
    {"instance_type": "CPU.4V.16G", "image": "ubuntu-24.04", "location_code": "FIN-01"},
    {
        "instance_type": "1H100.80S.30V",
        "image": "ubuntu-22.04",
        "location_code": "FIN-01",
        "volumes": [{"name": "data", "size": 100, "type": "NVMe"}],
        "tags": [{"key": "team", "value": "ml"}, {"key": "env", "value": "prod"}],
    },
    {
        "instance_type": "CPU.8V.32G",
        "image": "ubuntu-24.04",
        "location_code": "FIN-01",
        "is_spot": True,
        "tags": [{"key": "env", "value": "dev"}],
    },
    {
        "instance_type": "1A100.22V",
        "image": "ubuntu-22.04",
        "location_code": "FIN-01",
        "contract": "LONG_TERM",
        "long_term_period": "3_MONTHS",
    },
    {
        "instance_type": "1V100.6V",
        "image": "ubuntu-24.04",
        "location_code": "FIN-01",
        "coupon": "COUPON-CODE-2026",
    },
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(server: Server) -> Iterator[str]:
    port = free_port()
    uv = uvicorn.Server(
        uvicorn.Config(server.app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    while not uv.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(timeout=20)


def fill_project(server: Server, count: int, clock: Clock) -> tuple[str, str, str]:
    """A project with `count` instances; returns its id, client id and secret."""
    ctx = server.context
    with ctx.db.write() as session:
        project = projects.create_project(
            session, ctx.clock, name="bench", balance=Decimal("1000000")
        )
        client_id, secret = projects.add_credential(session, ctx.clock, project.id)
        keys = [ssh_keys.add_key(session, ctx.clock, project.id, f"k{n}", KEY).id for n in range(2)]
    made: list[str] = []
    for n, template in enumerate(TEMPLATES):
        body = {"hostname": f"bench-{n}", "description": "bench", "ssh_key_ids": keys, **template}
        with ctx.work(project.id) as (session, now):
            made.append(
                deploy.deploy(
                    session,
                    now,
                    ctx.catalog,
                    ctx.lifecycle.current,
                    project.id,
                    DeployInstancePublicDto.model_validate(body),
                )
            )
        clock.advance(1)
    with ctx.db.write() as session:
        instances = list(session.scalars(select(Instance).where(Instance.id.in_(made))))
        for n in range(count - len(made)):
            source = instances[n % len(instances)]
            new_id = str(uuid.uuid4())
            attachments = list(
                session.scalars(
                    select(VolumeAttachment).where(VolumeAttachment.instance_id == source.id)
                )
            )
            volume_ids = {a.volume_id: str(uuid.uuid4()) for a in attachments}
            volumes = list(session.scalars(select(Volume).where(Volume.id.in_(volume_ids))))
            for volume in volumes:
                columns = [c.name for c in Volume.__table__.columns]
                row = {c: getattr(volume, c) for c in columns}
                row.update(id=volume_ids[volume.id], pseudo_path=f"volume-{uuid.uuid4().hex[:12]}")
                session.execute(insert(Volume), [row])
                key_links = session.scalars(
                    select(VolumeSshKey).where(VolumeSshKey.volume_id == volume.id)
                ).all()
                for link in key_links:
                    session.execute(
                        insert(VolumeSshKey),
                        [
                            {
                                "volume_id": volume_ids[volume.id],
                                "ssh_key_id": link.ssh_key_id,
                                "position": link.position,
                            }
                        ],
                    )
            columns = [c.name for c in Instance.__table__.columns]
            row = {c: getattr(source, c) for c in columns}
            row.update(
                id=new_id,
                ip=None,
                hostname=f"{source.hostname}-{n}",
                os_volume_id=volume_ids.get(source.os_volume_id or ""),
            )
            session.execute(insert(Instance), [row])
            for key in source.ssh_keys:
                session.execute(
                    insert(InstanceSshKey),
                    [
                        {
                            "instance_id": new_id,
                            "ssh_key_id": key.ssh_key_id,
                            "position": key.position,
                        }
                    ],
                )
            for a in attachments:
                session.execute(
                    insert(VolumeAttachment),
                    [
                        {
                            "volume_id": volume_ids[a.volume_id],
                            "instance_id": new_id,
                            "target": a.target,
                            "position": a.position,
                        }
                    ],
                )
            links = session.scalars(
                select(TagLink).where(TagLink.kind == "instance", TagLink.resource_id == source.id)
            ).all()
            for link in links:
                session.execute(
                    insert(TagLink),
                    [
                        {
                            "kind": "instance",
                            "resource_id": new_id,
                            "tag_id": link.tag_id,
                            "position": link.position,
                        }
                    ],
                )
    return project.id, client_id, secret


def copy_project(server: Server, source: str, copies: int) -> None:
    """`copies` more projects holding what `source` holds (instances, volumes and
    their links), written in bulk: a big store without deploying it."""
    ctx = server.context
    with ctx.db.read() as session:
        db = session.connection()
        instances = [
            r._asdict()
            for r in db.execute(select(Instance.__table__).where(Instance.project_id == source))
        ]
        volumes = [
            r._asdict()
            for r in db.execute(select(Volume.__table__).where(Volume.project_id == source))
        ]
        instance_ids = [i["id"] for i in instances]
        volume_ids = [v["id"] for v in volumes]
        links = {
            InstanceSshKey: db.execute(
                select(InstanceSshKey.__table__).where(InstanceSshKey.instance_id.in_(instance_ids))
            ).all(),
            VolumeAttachment: db.execute(
                select(VolumeAttachment.__table__).where(
                    VolumeAttachment.instance_id.in_(instance_ids)
                )
            ).all(),
            VolumeSshKey: db.execute(
                select(VolumeSshKey.__table__).where(VolumeSshKey.volume_id.in_(volume_ids))
            ).all(),
            TagLink: db.execute(
                select(TagLink.__table__).where(TagLink.resource_id.in_(instance_ids))
            ).all(),
        }
    for _ in range(copies):
        with ctx.db.write() as session:
            project = projects.create_project(session, ctx.clock, name="other", balance=Decimal(1))
            new = {old: str(uuid.uuid4()) for old in [*instance_ids, *volume_ids]}
            session.execute(
                insert(Volume),
                [
                    {
                        **v,
                        "id": new[v["id"]],
                        "project_id": project.id,
                        "pseudo_path": f"volume-{uuid.uuid4().hex[:12]}",
                    }
                    for v in volumes
                ],
            )
            session.execute(
                insert(Instance),
                [
                    {
                        **i,
                        "id": new[i["id"]],
                        "project_id": project.id,
                        "os_volume_id": new.get(i["os_volume_id"]),
                        "ip": None,
                    }
                    for i in instances
                ],
            )
            for model, rows in links.items():
                renamed = [
                    {k: new.get(v, v) if isinstance(v, str) else v for k, v in r._asdict().items()}
                    for r in rows
                ]
                if renamed:
                    session.execute(insert(model), renamed)


def route(path: str) -> APIRoute:
    for candidate in (r for router in ROUTERS for r in router.routes):
        if (
            isinstance(candidate, APIRoute)
            and candidate.path == path
            and "GET" in candidate.methods
        ):
            return candidate
    raise LookupError(path)


def renderer(
    server: Server, path: str, principal: Principal, **kwargs: Any
) -> Callable[[], Awaitable[Any]]:
    """The handler and FastAPI's serialisation of what it returns, as one call."""
    found = route(path)
    parameters = inspect.signature(found.endpoint).parameters
    arguments: dict[str, Any] = {"context": server.context, "principal": principal, **kwargs}
    for name, parameter in parameters.items():
        if name not in arguments:
            arguments[name] = parameter.default

    async def render() -> Any:
        result = await found.endpoint(**arguments)
        if isinstance(result, Response):
            return result.body
        return await serialize_response(
            field=found.response_field, response_content=result, dump_json=True
        )

    return render


def explain(server: Server, statements: list[tuple[str, Any]]) -> None:
    sqlite = server.context.db.engine.dialect.name == "sqlite"
    connection = server.context.db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        for statement, parameters in statements:
            if statement.lstrip().startswith("SELECT"):
                cursor.execute(
                    ("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + statement, parameters
                )
                lines = [str(row[3] if sqlite else row[0]) for row in cursor.fetchall()]
                print("   ", " ".join(statement.split())[:110])
                print("".join(f"        {line}\n" for line in lines), end="")
    finally:
        connection.rollback()
        connection.close()


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--others", type=int, default=0, help="instances in other projects")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--database-url")
    parser.add_argument("--store", help="keep the SQLite store here; reuse it when present")
    parser.add_argument("--dump", help="write each answer to this folder")
    parser.add_argument("--explain", action="store_true", help="print each statement's plan")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as data_dir:
        store = Path(args.store or data_dir)
        reuse = (store / "meta.json").exists()
        store.mkdir(parents=True, exist_ok=True)
        url = args.database_url or sqlite_url(store)
        clock = Clock.frozen()
        settings = Settings(
            database_url=url,
            port=free_port(),
            lifecycle=Lifecycle(sweep_interval=None),
            rate_limits=False,
        )
        server = build(settings, clock=clock)
        ctx = server.context
        overrides = {
            code: {
                "instances": {
                    name: {"on_demand": 100000, "spot": 100000}
                    for name in ctx.catalog.instance_types
                }
            }
            for code in ctx.catalog.locations
        }
        capacity.apply(ctx.catalog, overrides)
        if reuse:
            project_id, client_id, secret = json.loads((store / "meta.json").read_text())
        else:
            started = time.monotonic()
            project_id, client_id, secret = fill_project(server, args.instances, clock)
            copy_project(server, project_id, args.others // max(1, args.instances))
            print(f"store filled in {time.monotonic() - started:.1f}s")
            (store / "meta.json").write_text(json.dumps([project_id, client_id, secret]))
        clock.advance(3600)  # everything provisioned is running by now
        principal = Principal(project_id=project_id, client_id=client_id)
        with ctx.db.read() as session:
            some_id = session.scalars(
                select(Instance.id)
                .where(Instance.project_id == project_id)
                .order_by(Instance.created_at, Instance.id)
                .limit(1)
            ).one()
            some_volume = session.scalars(
                select(Volume.id)
                .where(Volume.project_id == project_id)
                .order_by(Volume.created_at, Volume.id)
                .limit(1)
            ).one()
        paths = {
            "GET /v1/instances": ("/v1/instances", {}),
            "GET /v1/instances/{id}": ("/v1/instances/{instance_id}", {"instance_id": some_id}),
            "GET /v1/volumes": ("/v1/volumes", {}),
            "GET /v1/volumes/{id}": ("/v1/volumes/{volume_id}", {"volume_id": some_volume}),
        }
        seen: list[tuple[str, Any]] = []
        event.listen(
            ctx.db.engine,
            "before_cursor_execute",
            lambda _conn, _cursor, statement, parameters, *_: seen.append((statement, parameters)),
        )
        with serve(server) as base:
            token = httpx.post(
                base + "/v1/oauth2/token",
                json={
                    "grant_type": "client_credentials",
                    "client_id": client_id,
                    "client_secret": secret,
                },
            ).json()["access_token"]
            http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})
            print(
                f"{'read':<24}{'render ms':>10}{'cpu ms':>8}{'http ms':>9}{'queries':>8}"
                f"{'bytes':>9}"
            )
            for name, (path, kwargs) in paths.items():
                render = renderer(server, path, principal, **kwargs)
                loop = asyncio.new_event_loop()
                body = loop.run_until_complete(render())
                if args.dump:
                    Path(args.dump).mkdir(parents=True, exist_ok=True)
                    (Path(args.dump) / f"{name.split()[1].replace('/', '_')}.json").write_bytes(
                        body
                    )
                timings, cpu = [], []
                for _ in range(args.repeat):
                    start, start_cpu = time.perf_counter(), time.thread_time()
                    loop.run_until_complete(render())
                    cpu.append(time.thread_time() - start_cpu)
                    timings.append(time.perf_counter() - start)
                loop.close()
                url_path = path.format(**kwargs)
                http.get(url_path).raise_for_status()
                before = len(seen)
                http.get(url_path)
                queries = len(seen) - before
                if args.explain:
                    explain(server, seen[before:])
                samples = []
                for _ in range(args.repeat):
                    start = time.perf_counter()
                    http.get(url_path).raise_for_status()
                    samples.append(time.perf_counter() - start)
                print(
                    f"{name:<24}{median_ms(timings):>10.2f}{median_ms(cpu):>8.2f}"
                    f"{median_ms(samples):>9.2f}{queries:>8}{len(body):>9}"
                )


if __name__ == "__main__":
    main()
