"""The scaling object: defaults, partial changes, the rules between fields.

Stored exactly as answered (all seven keys, both policies and queue_load
non-null, utilisation triggers `{enabled, threshold}`), so that what a client
sent is what it reads back (Terraform refuses any drift)."""

from __future__ import annotations

import copy
import json
from typing import Any

from verda_server.api.errors import invalid
from verda_server.serverless.deployments.schemas import ScalingDto, UtilizationDto

Scaling = dict[str, Any]

# The CLI's defaults, for a create that sends no (or a partial) scaling.
DEFAULTS: Scaling = {
    "min_replica_count": 0,
    "max_replica_count": 3,
    "scale_down_policy": {"delay_seconds": 300},
    "scale_up_policy": {"delay_seconds": 0},
    "queue_message_ttl_seconds": 300,
    "concurrent_requests_per_replica": 1,
    "scaling_triggers": {
        "queue_load": {"threshold": 3},
        "cpu_utilization": {"enabled": False, "threshold": None},
        "gpu_utilization": {"enabled": False, "threshold": None},
    },
}
_PLAIN = (
    "min_replica_count",
    "max_replica_count",
    "queue_message_ttl_seconds",
    "concurrent_requests_per_replica",
)


def _utilization(trigger: UtilizationDto, where: str) -> dict[str, Any]:
    if trigger.enabled and (trigger.threshold is None or trigger.threshold < 1):
        raise invalid(f"{where}.threshold: 1 to 100 (percent) when enabled")
    return {"enabled": trigger.enabled, "threshold": trigger.threshold}


def applied(current: Scaling, change: ScalingDto | None, where: str = "scaling") -> Scaling:
    """`current` with the fields `change` sends; the result's rules checked."""
    result = copy.deepcopy(current)
    if change is not None:
        for key in _PLAIN:
            value = getattr(change, key)
            if value is not None:
                result[key] = value
        for key in ("scale_down_policy", "scale_up_policy"):
            policy = getattr(change, key)
            if policy is not None:
                result[key] = {"delay_seconds": policy.delay_seconds}
        triggers = change.scaling_triggers
        if triggers is not None:
            held = result["scaling_triggers"]
            if triggers.queue_load is not None:
                held["queue_load"] = {"threshold": triggers.queue_load.threshold}
            for key in ("cpu_utilization", "gpu_utilization"):
                trigger = getattr(triggers, key)
                if trigger is not None:
                    held[key] = _utilization(trigger, f"{where}.scaling_triggers.{key}")
    if result["max_replica_count"] < result["min_replica_count"]:
        raise invalid(
            f"{where}.max_replica_count: {result['max_replica_count']} is below "
            f"min_replica_count {result['min_replica_count']}"
        )
    return result


def load(text: str) -> Scaling:
    return json.loads(text)  # type: ignore[no-any-return]


def dump(scaling: Scaling) -> str:
    return json.dumps(scaling, separators=(",", ":"))
