"""The deployment and job state machines, in one place: statuses, which action
is legal from which status, which are no-ops, and the timed transitions (like
instances/states.py). Every action of BEYOND.md §3/§4 is idempotent: an action
from a status it has nothing to do in answers 2xx and changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    """Deployment statuses: those the Python SDK's enum and the live one share,
    with `version_updating` for a new version (BEYOND.md Open point 5). The last
    three are reached only by an operator or a fault, never by the clock."""

    INITIALIZING = "initializing"
    HEALTHY = "healthy"
    VERSION_UPDATING = "version_updating"
    PAUSED = "paused"
    IMAGE_PULLING = "image_pulling"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"
    QUOTA_REACHED = "quota_reached"


class Action(StrEnum):
    # A patch of containers, compute, registry settings or env vars.
    NEW_VERSION = "new_version"
    RESTART = "restart"
    PAUSE = "pause"
    RESUME = "resume"
    # A scaling patch: the replica count follows the new minimum.
    SCALE = "scale"


@dataclass(frozen=True)
class Rule:
    legal_from: frozenset[Status]
    # The status the action moves to; None: it keeps the status.
    to: Status | None
    # Whether the replicas are all replaced (new ids, new started_at).
    replaces_replicas: bool = False


S = Status
# Statuses with replicas (or a minimum of them) in place.
ACTIVE = frozenset(
    {S.INITIALIZING, S.HEALTHY, S.VERSION_UPDATING, S.IMAGE_PULLING, S.DEGRADED, S.UNHEALTHY}
)
RULES: dict[Action, Rule] = {
    Action.NEW_VERSION: Rule(ACTIVE, S.VERSION_UPDATING, replaces_replicas=True),
    Action.RESTART: Rule(ACTIVE, S.INITIALIZING, replaces_replicas=True),
    Action.PAUSE: Rule(ACTIVE | {S.QUOTA_REACHED}, S.PAUSED),
    Action.RESUME: Rule(frozenset({S.PAUSED, S.QUOTA_REACHED}), S.INITIALIZING),
    Action.SCALE: Rule(ACTIVE, None),
}

# Timed transitions: a status that ends by itself (after the lifecycle's
# `serverless_ready_seconds`), and what follows it.
TIMED: dict[Status, Status] = {
    S.INITIALIZING: S.HEALTHY,
    S.VERSION_UPDATING: S.HEALTHY,
    S.IMAGE_PULLING: S.HEALTHY,
}


class ReplicaStatus(StrEnum):
    """The live enum of replica statuses; the clock reaches the first two."""

    INITIALIZING = "initializing"
    RUNNING = "running"
    UNAVAILABLE = "unavailable"
    TERMINATING = "terminating"
    ERROR = "error"
    IMAGEPULLING = "imagepulling"


class JobStatus(StrEnum):
    """What Python's enum accepts (never the live `ready`, Open point 6)."""

    RUNNING = "running"
    PAUSED = "paused"
    TERMINATING = "terminating"


class JobAction(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    # DELETE with timeout=0: terminating until the removal is due.
    TERMINATE = "terminate"


@dataclass(frozen=True)
class JobRule:
    legal_from: frozenset[JobStatus]
    to: JobStatus


J = JobStatus
JOB_RULES: dict[JobAction, JobRule] = {
    JobAction.PAUSE: JobRule(frozenset({J.RUNNING}), J.PAUSED),
    JobAction.RESUME: JobRule(frozenset({J.PAUSED}), J.RUNNING),
    JobAction.TERMINATE: JobRule(frozenset({J.RUNNING, J.PAUSED}), J.TERMINATING),
}
# A terminating job is removed when its time is up (its `status_until`).
JOB_TIMED_REMOVAL = frozenset({J.TERMINATING})


def legal(action: Action, status: Status) -> bool:
    return status in RULES[action].legal_from


def job_legal(action: JobAction, status: JobStatus) -> bool:
    return status in JOB_RULES[action].legal_from
