"""Bodies and rows for the serverless tests."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.support.live import LiveServer
from verda_server.serverless.registry.models import RegistryCredential
from verda_server.serverless.secrets.models import FILE_SECRET, GENERIC, Secret, SecretFile

IMAGE = "registry-1.docker.io/chentex/random-logger:v1.0.1"
COMPUTE = {"name": "H100", "size": 1}


def container(**fields: Any) -> dict[str, Any]:
    return {"image": IMAGE, "exposed_port": 8080, **fields}


def scaling(**fields: Any) -> dict[str, Any]:
    body = {
        "min_replica_count": 1,
        "max_replica_count": 1,
        "scale_down_policy": {"delay_seconds": 300},
        "scale_up_policy": {"delay_seconds": 300},
        "queue_message_ttl_seconds": 300,
        "concurrent_requests_per_replica": 1,
        "scaling_triggers": {
            "queue_load": {"threshold": 1},
            "cpu_utilization": {"enabled": True, "threshold": 80},
            "gpu_utilization": {"enabled": True, "threshold": 80},
        },
    }
    return {**body, **fields}


def deployment(name: str = "web", **fields: Any) -> dict[str, Any]:
    body = {
        "name": name,
        "containers": [container()],
        "compute": dict(COMPUTE),
        "scaling": scaling(),
    }
    return {**body, **fields}


def job(name: str = "batch", **fields: Any) -> dict[str, Any]:
    body = {
        "name": name,
        "containers": [container()],
        "compute": dict(COMPUTE),
        "scaling": {
            "max_replica_count": 1,
            "queue_message_ttl_seconds": 300,
            "deadline_seconds": 3600,
        },
    }
    return {**body, **fields}


def add_secret(live: LiveServer, project_id: str, name: str, value: str = "v") -> None:
    with live.context.db.write() as session:
        session.add(
            Secret(
                id=str(uuid.uuid4()),
                project_id=project_id,
                name=name,
                kind=GENERIC,
                value=value,
                created_at=live.clock.now(),
            )
        )


def add_file_secret(live: LiveServer, project_id: str, name: str) -> None:
    with live.context.db.write() as session:
        secret = Secret(
            id=str(uuid.uuid4()),
            project_id=project_id,
            name=name,
            kind=FILE_SECRET,
            value=None,
            created_at=live.clock.now(),
        )
        secret.files = [SecretFile(file_name="a.txt", position=0, base64_content="YQ==")]
        session.add(secret)


def add_credentials(live: LiveServer, project_id: str, name: str) -> None:
    with live.context.db.write() as session:
        session.add(
            RegistryCredential(
                id=str(uuid.uuid4()),
                project_id=project_id,
                name=name,
                registry_type="dockerhub",
                fields=json.dumps({"username": "u", "access_token": "t"}),
                created_at=live.clock.now(),
            )
        )
