"""The instance state machine, in one place: statuses, which action is legal
from which status, which are no-ops, what each does to the instance's volumes,
and the timed transitions. Anything not legal is refused (403 forbidden_action)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Status(StrEnum):
    RUNNING = "running"
    PROVISIONING = "provisioning"
    OFFLINE = "offline"
    DISCONTINUED = "discontinued"
    UNKNOWN = "unknown"
    ORDERED = "ordered"
    NOTFOUND = "notfound"
    NEW = "new"
    ERROR = "error"
    DELETING = "deleting"
    VALIDATING = "validating"
    NO_CAPACITY = "no_capacity"
    INSTALLATION_FAILED = "installation_failed"


class Action(StrEnum):
    BOOT = "boot"
    START = "start"
    SHUTDOWN = "shutdown"
    DELETE = "delete"
    DISCONTINUE = "discontinue"
    HIBERNATE = "hibernate"
    CONFIGURE_SPOT = "configure_spot"
    FORCE_SHUTDOWN = "force_shutdown"
    DELETE_STUCK = "delete_stuck"
    DEPLOY = "deploy"
    TRANSFER = "transfer"


class VolumeEffect(StrEnum):
    """What an action does to the volumes attached to the instance."""

    NONE = "none"
    # Every volume detached, none deleted.
    DETACH = "detach"
    # `volume_ids` decides: absent, the OS volume goes to the trash; a list, those
    # are deleted; the rest are detached either way.
    RELEASE = "release"
    # `volume_ids` sets what a spot eviction will do to them, in the words of
    # RELEASE (instances/eviction.py `configure`); nothing changes now.
    POLICY = "policy"


@dataclass(frozen=True)
class Rule:
    legal_from: frozenset[Status]
    # Statuses in which the action has nothing to do: 204 for a single action.
    already: frozenset[Status] = frozenset()
    # The status the action moves to; None when it changes no status.
    to: Status | None = None
    volumes: VolumeEffect = VolumeEffect.NONE
    # Only for spot instances (configure_spot).
    spot_only: bool = False
    # Needs an OS disk to act (boot/start): one detached while shut down leaves none.
    needs_os_volume: bool = False
    # Cuts the power instead of asking the machine to shut down.
    power_off: bool = False
    # Special refusals clients match on (dstack), by status.
    messages: dict[Status, str] = field(default_factory=dict)


S = Status
# dstack reads the first as "retry later" and the second as "already gone", for
# delete as well as discontinue.
_GONE_OR_NOT_YET = {
    S.PROVISIONING: "Can't discontinue a provisioning instance",
    S.DISCONTINUED: "Can't discontinue a discontinued instance",
}
RULES: dict[Action, Rule] = {
    Action.BOOT: Rule(
        frozenset({S.OFFLINE}),
        frozenset({S.RUNNING, S.PROVISIONING}),
        to=S.PROVISIONING,
        needs_os_volume=True,
    ),
    Action.START: Rule(
        frozenset({S.OFFLINE}),
        frozenset({S.RUNNING, S.PROVISIONING}),
        to=S.PROVISIONING,
        needs_os_volume=True,
    ),
    Action.SHUTDOWN: Rule(frozenset({S.RUNNING}), frozenset({S.OFFLINE}), to=S.OFFLINE),
    Action.FORCE_SHUTDOWN: Rule(
        frozenset({S.RUNNING, S.PROVISIONING, S.ERROR}),
        frozenset({S.OFFLINE}),
        to=S.OFFLINE,
        power_off=True,
    ),
    Action.HIBERNATE: Rule(
        frozenset({S.OFFLINE}),
        to=S.DISCONTINUED,
        volumes=VolumeEffect.DETACH,
        messages={S.RUNNING: "Instance must be shut down before it can be hibernated"},
    ),
    Action.DELETE: Rule(
        frozenset({S.RUNNING, S.OFFLINE, S.ERROR, S.NO_CAPACITY, S.INSTALLATION_FAILED}),
        to=S.DISCONTINUED,
        volumes=VolumeEffect.RELEASE,
        messages=_GONE_OR_NOT_YET,
    ),
    Action.DISCONTINUE: Rule(
        frozenset({S.RUNNING, S.OFFLINE, S.ERROR, S.NO_CAPACITY, S.INSTALLATION_FAILED}),
        to=S.DISCONTINUED,
        volumes=VolumeEffect.RELEASE,
        messages=_GONE_OR_NOT_YET,
    ),
    Action.CONFIGURE_SPOT: Rule(
        frozenset({S.RUNNING, S.OFFLINE, S.PROVISIONING}),
        volumes=VolumeEffect.POLICY,
        spot_only=True,
    ),
    # For what is stuck: the way out of provisioning that delete refuses.
    Action.DELETE_STUCK: Rule(
        frozenset({S.PROVISIONING, S.ERROR, S.NO_CAPACITY, S.INSTALLATION_FAILED}),
        to=S.DISCONTINUED,
        volumes=VolumeEffect.RELEASE,
    ),
}

# Actions the public API names but does not perform (400, like an unknown action).
REFUSED: dict[str, str] = {
    Action.DEPLOY: "Action deploy is not available here: deploy with POST /v1/instances",
    Action.TRANSFER: "Action transfer is not available through the public API",
    "restore": "Action restore is not available: deleted instances cannot be restored",
}

# Timed transitions: a status that ends by itself, and what follows it.
TIMED: dict[Status, Status] = {Status.PROVISIONING: Status.RUNNING}

# Statuses that count as shut down for volume operations.
SHUT_DOWN = frozenset({Status.OFFLINE})

# Statuses of instances that never got their machine (no capacity was found, or
# the OS failed to install): listed, but holding no capacity or address and
# costing nothing; deleting them is all that is left to do.
UNPLACED = frozenset({Status.NO_CAPACITY, Status.INSTALLATION_FAILED})

# Outcomes the control API can force, and from which statuses: a machine can
# break whenever it exists; placing and installing fail only while provisioning.
# Forcing the status an instance already has changes nothing.
FORCED_FROM: dict[Status, frozenset[Status]] = {
    Status.ERROR: frozenset({Status.PROVISIONING, Status.RUNNING, Status.OFFLINE}),
    Status.NO_CAPACITY: frozenset({Status.PROVISIONING}),
    Status.INSTALLATION_FAILED: frozenset({Status.PROVISIONING}),
}

# Statuses of instances that are gone: readable by id, out of the plain list,
# holding no capacity, address or volumes.
REMOVED = frozenset({Status.DISCONTINUED})


def refusal(action: Action, status: Status) -> str:
    rule = RULES[action]
    article = "an" if status.value[0] in "aeiou" else "a"
    return rule.messages.get(status, f"Can't {action.value} {article} {status.value} instance")
