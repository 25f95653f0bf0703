"""What costs money, and at what rate: the billing rule table.

An instance costs its price from creation until it is deleted (shut down
included: the document says shutdown keeps charging), unless it never got
its machine (no capacity, installation failed); a cluster costs its
price until it is discontinued; a volume costs its
hourly price while it exists outside the trash; a rate that ends (a
long-term contract) is followed by the pay-as-you-go price. Anything else
is free. A serverless deployment or job costs its price per replica-hour
for each replica it runs.
"""

from __future__ import annotations

from decimal import Decimal

from verda_server.billing.ledger import Rate
from verda_server.billing.rates import monthly_to_hourly
from verda_server.catalog.service import Catalog
from verda_server.clusters.models import Cluster
from verda_server.instances.models import Instance
from verda_server.instances.states import UNPLACED
from verda_server.serverless.deployments.models import ServerlessDeployment
from verda_server.volumes.models import Volume
from verda_server.volumes.states import ACTIVE

# An instance that never got its machine costs nothing (from the status on).
UNBILLED_INSTANCE_STATUSES = frozenset(s.value for s in UNPLACED)
# The trash and the permanently deleted are free; a clone costs while it copies.
BILLED_VOLUME_STATUSES = frozenset(s.value for s in ACTIVE)


def volume_hourly(catalog: Catalog, volume_type: str, size: int, currency: str) -> Decimal:
    per_gb = catalog.volume_types[volume_type].price_per_month_per_gb.of(currency)  # type: ignore[arg-type]
    return monthly_to_hourly(Decimal(str(per_gb)) * size)


def instance_rate(instance: Instance) -> Rate | None:
    if instance.deleted_at is not None or instance.status in UNBILLED_INSTANCE_STATUSES:
        return None
    if instance.contract == "LONG_TERM" and instance.contract_ends_at is not None:
        return Rate(instance.price_per_hour, instance.contract_ends_at, instance.payg_price)
    return Rate(instance.price_per_hour)


def cluster_rate(cluster: Cluster) -> Rate | None:
    return None if cluster.deleted_at is not None else Rate(cluster.price_per_hour)


def volume_rate(volume: Volume, catalog: Catalog, currency: str) -> Rate | None:
    if volume.is_permanently_deleted or volume.status not in BILLED_VOLUME_STATUSES:
        return None
    return Rate(volume_hourly(catalog, volume.type, volume.size, currency))


def serverless_rate(deployment: ServerlessDeployment) -> Rate | None:
    """A deployment or job costs its price per replica-hour for each replica it
    runs (initializing ones too); paused, scaled to zero or gone, nothing."""
    if deployment.deleted_at is not None or deployment.replica_count == 0:
        return None
    return Rate(deployment.price_per_replica_hour * deployment.replica_count)
