"""Resources by kind and status, counted in the store when Prometheus scrapes."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Select, case, func, literal, select

from verda_server.clusters.models import Cluster
from verda_server.instances.models import Instance
from verda_server.serverless.registry.models import RegistryCredential
from verda_server.serverless.secrets.models import FILE_SECRET, GENERIC, Secret
from verda_server.ssh_keys.models import SshKey
from verda_server.startup_scripts.models import StartupScript
from verda_server.storage.database import Database
from verda_server.volumes.models import Volume

# Keys, scripts, secrets and registry credentials have no status: one that exists is active.
_ACTIVE = "active"


def _removed_or(model: type[Instance] | type[Cluster]) -> Select[tuple[str, int]]:
    # A removed instance or cluster reads discontinued, whatever its row says.
    status = case((model.deleted_at.is_not(None), "discontinued"), else_=model.status)
    return select(status, func.count()).group_by(status)


_QUERIES: tuple[tuple[str, Select[tuple[str, int]]], ...] = (
    ("instance", _removed_or(Instance)),
    ("cluster", _removed_or(Cluster)),
    # A permanently deleted volume is gone (only its id still answers).
    (
        "volume",
        select(Volume.status, func.count())
        .where(Volume.is_permanently_deleted.is_(False))
        .group_by(Volume.status),
    ),
    ("ssh_key", select(literal(_ACTIVE), func.count()).select_from(SshKey)),
    ("startup_script", select(literal(_ACTIVE), func.count()).select_from(StartupScript)),
    *(
        (kind, select(literal(_ACTIVE), func.count()).where(Secret.kind == stored))
        for kind, stored in (("secret", GENERIC), ("file_secret", FILE_SECRET))
    ),
    (
        "registry_credential",
        select(literal(_ACTIVE), func.count()).select_from(RegistryCredential),
    ),
)


class ResourceCollector(Collector):
    def __init__(self, db: Database) -> None:
        self._db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "verda_resources",
            "Resources in the store by kind and status (every project)",
            labels=("kind", "status"),
        )
        with self._db.read() as session:
            for kind, query in _QUERIES:
                for status, count in session.execute(query):
                    if count:
                        family.add_metric((kind, status), count)
        yield family
