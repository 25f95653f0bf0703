"""Containers as stored (a JSON list on the deployment row) and as answered:
built from the request, checked against what they refer to, rendered back.

A stored container is the answer's shape with the image as its exact text and
when it last changed: {name, image, image_updated_at, exposed_port, healthcheck,
entrypoint_overrides, env, volume_mounts, should_use_cached_image, autoupdate}.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from verda_server.api.errors import invalid
from verda_server.clock import isoformat
from verda_server.serverless.deployments.schemas import (
    SHARED_ID_MISSING,
    ContainerDto,
    ContainerPatchDto,
    EnvVarDto,
    ImageObjectDto,
    MemoryMountDto,
    RegistrySettingsDto,
    ScratchMountDto,
    SecretMountDto,
    SharedMountDto,
)
from verda_server.serverless.registry.models import RegistryCredential
from verda_server.serverless.secrets.models import FILE_SECRET, GENERIC, Secret
from verda_server.volumes.models import Volume

Stored = dict[str, Any]
SHARED_VOLUME_TYPES = frozenset({"NVMe_Shared", "HDD_Shared"})
_NOT_ALNUM = re.compile("[^a-z0-9]+")


def image_text(image: str | ImageObjectDto) -> str:
    """A response's image object, sent back on update, is its `image`."""
    return image.image if isinstance(image, ImageObjectDto) else image


def generated_name(image: str, index: int) -> str:
    """`<last path component of the repository, no tag/digest, lowercased,
    non-alphanumerics as '-'>-<index>`: `random-logger-0`, `nginx-0`."""
    repository = image.split("@", 1)[0]
    last = repository.rsplit("/", 1)[-1].split(":", 1)[0]
    base = _NOT_ALNUM.sub("-", last.lower()).strip("-") or "container"
    return f"{base}-{index}"


def env_var(item: EnvVarDto) -> Stored:
    return {
        "name": item.name,
        "value_or_reference_to_secret": item.value_or_reference_to_secret,
        "type": item.type,
    }


def _mount(
    mount: ScratchMountDto | SecretMountDto | MemoryMountDto | SharedMountDto, where: str
) -> Stored:
    """Only the fields of the mount's type, in request order."""
    if isinstance(mount, ScratchMountDto):
        return {"type": "scratch", "mount_path": mount.mount_path}
    if isinstance(mount, SecretMountDto):
        stored: Stored = {
            "type": "secret",
            "mount_path": mount.mount_path,
            "secret_name": mount.secret_name,
        }
        if mount.file_names is not None:
            stored["file_names"] = list(mount.file_names)
        return stored
    if isinstance(mount, MemoryMountDto):
        return {"type": "memory", "mount_path": mount.mount_path, "size_in_mb": mount.size_in_mb}
    if not mount.volume_id:
        # The exact wording the CLI and the Python changelog observed.
        raise invalid(f"{where}.volume_id {SHARED_ID_MISSING}")
    return {"type": "shared", "mount_path": mount.mount_path, "volume_id": mount.volume_id}


def _fields(body: ContainerDto | ContainerPatchDto, where: str) -> Stored:
    """The fields the body sets (all of a create's; those sent, of a patch's)."""
    fields: Stored = {}
    if body.exposed_port is not None:
        fields["exposed_port"] = body.exposed_port
    if body.healthcheck is not None:
        check = body.healthcheck
        fields["healthcheck"] = {"enabled": check.enabled, "port": check.port, "path": check.path}
    if body.entrypoint_overrides is not None:
        overrides = body.entrypoint_overrides
        fields["entrypoint_overrides"] = {
            "enabled": overrides.enabled,
            "entrypoint": overrides.entrypoint,
            "cmd": overrides.cmd,
        }
    if body.env is not None:
        fields["env"] = [env_var(item) for item in body.env]
    if body.volume_mounts is not None:
        fields["volume_mounts"] = [
            _mount(m, f"{where}.volume_mounts.{n}") for n, m in enumerate(body.volume_mounts)
        ]
    if body.autoupdate is not None:
        auto = body.autoupdate
        fields["autoupdate"] = {
            "enabled": auto.enabled,
            "mode": auto.mode,
            "tag_filter": auto.tag_filter,
        }
    if body.should_use_cached_image is not None:
        fields["should_use_cached_image"] = body.should_use_cached_image
    return fields


def new_containers(bodies: Sequence[ContainerDto], now: datetime) -> list[Stored]:
    made = []
    for n, body in enumerate(bodies):
        image = image_text(body.image)
        stored: Stored = {
            "name": generated_name(image, n),
            "image": image,
            "image_updated_at": isoformat(now),
            "healthcheck": None,
            "entrypoint_overrides": None,
            "env": [],
            "volume_mounts": [],
            "should_use_cached_image": False,
            "autoupdate": None,
        }
        stored.update(_fields(body, f"containers.{n}"))
        made.append(stored)
    return made


def patched_containers(
    current: list[Stored], bodies: Sequence[ContainerPatchDto], now: datetime
) -> list[Stored]:
    """`current` with each body's fields over the container it names."""
    result = [dict(c) for c in current]
    by_name = {c["name"]: c for c in result}
    for n, body in enumerate(bodies):
        if not body.name:
            raise invalid(f"containers.{n}.name should not be null or undefined")
        target = by_name.get(body.name)
        if target is None:
            known = ", ".join(by_name)
            raise invalid(f"containers.{n}.name: no container {body.name!r} (containers: {known})")
        if body.image is not None:
            image = image_text(body.image)
            if image != target["image"]:
                target["image"] = image
                target["image_updated_at"] = isoformat(now)
        target.update(_fields(body, f"containers.{n}"))
    return result


def check_references(
    session: Session,
    project_id: str,
    containers: Sequence[Stored],
    registry: RegistrySettingsDto | None,
) -> None:
    """Secrets, file secrets, shared volumes and registry credentials named must
    exist in the project (400 otherwise, as the clients expect)."""
    wanted_secrets: dict[str, str] = {}
    wanted_files: dict[str, str] = {}
    wanted_volumes: dict[str, str] = {}
    for c, container in enumerate(containers):
        for e, item in enumerate(container["env"]):
            if item["type"] == "secret":
                wanted_secrets.setdefault(
                    item["value_or_reference_to_secret"], f"containers.{c}.env.{e}"
                )
        for m, mount in enumerate(container["volume_mounts"]):
            if mount["type"] == "secret":
                wanted_files.setdefault(mount["secret_name"], f"containers.{c}.volume_mounts.{m}")
            elif mount["type"] == "shared":
                wanted_volumes.setdefault(mount["volume_id"], f"containers.{c}.volume_mounts.{m}")
    names = set(wanted_secrets) | set(wanted_files)
    found: dict[str, str] = {}
    if names:
        rows = session.execute(
            select(Secret.name, Secret.kind).where(
                Secret.project_id == project_id, Secret.name.in_(names)
            )
        )
        found = {name: kind for name, kind in rows}
    for name, where in wanted_secrets.items():
        if found.get(name) != GENERIC:
            raise invalid(f"{where}.value_or_reference_to_secret: no secret named {name!r}")
    for name, where in wanted_files.items():
        if found.get(name) != FILE_SECRET:
            raise invalid(f"{where}.secret_name: no file secret named {name!r}")
    if wanted_volumes:
        volumes = {
            v.id: v
            for v in session.scalars(
                select(Volume).where(
                    Volume.project_id == project_id, Volume.id.in_(list(wanted_volumes))
                )
            )
        }
        for volume_id, where in wanted_volumes.items():
            volume = volumes.get(volume_id)
            if volume is None or volume.is_permanently_deleted or volume.status == "deleted":
                raise invalid(f"{where}.volume_id: no volume {volume_id!r} in the project")
            if volume.type not in SHARED_VOLUME_TYPES:
                raise invalid(
                    f"{where}.volume_id: {volume_id} is a {volume.type} volume, not a shared "
                    "filesystem (NVMe_Shared or HDD_Shared)"
                )
    if registry is not None:
        check_registry(session, project_id, registry)


def check_registry(session: Session, project_id: str, registry: RegistrySettingsDto) -> None:
    if not registry.is_private:
        return
    if registry.credentials is None:
        raise invalid("container_registry_settings.credentials: required for a private registry")
    name = registry.credentials.name
    exists = session.scalar(
        select(RegistryCredential.id).where(
            RegistryCredential.project_id == project_id, RegistryCredential.name == name
        )
    )
    if exists is None:
        raise invalid(
            f"container_registry_settings.credentials.name: no credentials named {name!r}"
        )


def render(container: Stored) -> Stored:
    answer: Stored = {
        "name": container["name"],
        "image": {"image": container["image"], "last_updated_at": container["image_updated_at"]},
        "exposed_port": container["exposed_port"],
    }
    for key in ("healthcheck", "entrypoint_overrides"):
        if container[key] is not None:
            answer[key] = container[key]
    answer["env"] = container["env"]
    answer["volume_mounts"] = container["volume_mounts"]
    answer["should_use_cached_image"] = container["should_use_cached_image"]
    if container["autoupdate"] is not None:
        answer["autoupdate"] = container["autoupdate"]
    return answer


def load(text: str) -> list[Stored]:
    return json.loads(text)  # type: ignore[no-any-return]


def dump(containers: list[Stored]) -> str:
    return json.dumps(containers, separators=(",", ":"))
