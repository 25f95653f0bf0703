"""The podman networks machines sit on: a bridge per location (its address
pool the subnet) and a private bridge per cluster. What exists is asked of
podman once and remembered, since only this driver makes or removes them; a
failure makes it ask again (a cleanup may have removed them meanwhile)."""

from __future__ import annotations

import logging
from ipaddress import IPv4Network

from verda_server.catalog.service import Catalog
from verda_server.machines import desired
from verda_server.machines.podman import EngineError, Podman
from verda_server.machines.spec import Machine

logger = logging.getLogger("verda_server.machines")


def network_name(location: str) -> str:
    return f"verda-{location.lower()}"


def gateway_of(pool: IPv4Network) -> str:
    """The pool's last host address: addresses are handed out from the lowest."""
    return str(pool.broadcast_address - 1)


class Networks:
    def __init__(self, podman: Podman, catalog: Catalog) -> None:
        self._podman = podman
        self._catalog = catalog
        self._known: set[str] | None = None

    def ensure(self, machine: Machine) -> None:
        """The networks the machine joins, made if missing."""
        if machine.ip is not None:
            name = network_name(machine.location)
            if name not in self.known():
                pool = self._catalog.locations[machine.location].public_ip_pool
                self._podman.create_network(name, str(pool), gateway_of(pool))
                self.known().add(name)
        if machine.private is not None and machine.private.network not in self.known():
            self._podman.create_private_network(machine.private.network)
            self.known().add(machine.private.network)

    def forget(self) -> None:
        self._known = None

    def known(self) -> set[str]:
        if self._known is None:
            self._known = set(self._podman.networks())
        return self._known

    def collect(self, clusters: set[str]) -> None:
        """Remove the networks of clusters other than these."""
        wanted = {desired.cluster_network(cluster_id) for cluster_id in clusters}
        for name in list(self.known()):
            if name.startswith(desired.CLUSTER_NETWORK_PREFIX) and name not in wanted:
                try:
                    self._podman.remove_network(name)
                except EngineError as exc:
                    logger.warning("removing network %s: %s", name, exc)
                    continue
                self.known().discard(name)
