"""Prometheus metrics of one application (its own registry: a process may hold several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from verda_server.observability.resources import ResourceCollector
from verda_server.storage.database import Database

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNMATCHED = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Metrics:
    def __init__(self, db: Database) -> None:
        # No auto-describe: registering the resource collector must not query the store.
        self.registry = CollectorRegistry(auto_describe=False)
        self._requests = Counter(
            "verda_http_requests",
            "HTTP requests answered, by route template, method and status",
            ("route", "method", "status"),
            registry=self.registry,
        )
        self._latency = Histogram(
            "verda_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template",
            ("route",),
            registry=self.registry,
        )
        self._refusals = Counter(
            "verda_rate_limit_refusals",
            "Requests refused by a rate limit (429), by route template",
            ("route",),
            registry=self.registry,
        )
        reads = Counter(
            "verda_read_model_reads",
            "Cacheable reads by result: hit (answered from memory) or miss (rendered)",
            ("result",),
            registry=self.registry,
        )
        self._reads = {result: reads.labels(result) for result in ("hit", "miss")}
        self._faults = Counter(
            "verda_faults_injected",
            "Faults injected into responses, by fault rule",
            ("rule",),
            registry=self.registry,
        )
        self.registry.register(ResourceCollector(db))
        # Label lookups cost more than the increments: keep the children.
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, route: str | None, method: str, status: int, seconds: float) -> None:
        # Labels come from the router and fixed sets, never from raw client input.
        key = (route or UNMATCHED, method if method in _METHODS else "OTHER", status)
        children = self._children.get(key)
        if children is None:
            children = (
                self._requests.labels(key[0], key[1], str(status)),
                self._latency.labels(key[0]),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)
        if status == 429:
            self._refusals.labels(key[0]).inc()

    def read_model(self, result: str) -> None:
        """Count one cacheable read answered from memory ("hit") or rendered ("miss")."""
        self._reads[result].inc()

    def fault_injected(self, rule_id: str) -> None:
        """Count one fault injected by the rule `rule_id`."""
        self._faults.labels(rule_id).inc()

    def exposition(self) -> bytes:
        """The text format, resource counts read from the store now (blocking)."""
        return generate_latest(self.registry)
