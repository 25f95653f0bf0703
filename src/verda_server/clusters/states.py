"""The cluster state machine, in one place: statuses, the one action and where
it is legal from, and the timed transition. Anything not legal is refused
(403 forbidden_action).

Only `provisioning`, `running` and `discontinued` are ever reached: the Python
SDK's create raises on `error` and `discontinued` and waits on anything else,
so no other status of the vocabulary is emitted."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    """The documented vocabulary (the same as instances'); filters accept all of it."""

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
    DISCONTINUE = "discontinue"


# The Python SDK's `action(id, "delete")` sends discontinue; others may send delete.
ALIASES: dict[str, Action] = {"delete": Action.DISCONTINUE}


@dataclass(frozen=True)
class Rule:
    legal_from: frozenset[Status]
    to: Status


S = Status
RULES: dict[Action, Rule] = {
    # A provisioning cluster can be given back too: the SDK's create returns while
    # it is provisioning, and a caller may change its mind at once.
    Action.DISCONTINUE: Rule(frozenset({S.PROVISIONING, S.RUNNING}), to=S.DISCONTINUED),
}

# Timed transitions: a status that ends by itself, and what follows it.
TIMED: dict[Status, Status] = {S.PROVISIONING: S.RUNNING}

# Gone: readable by id, out of the plain list, holding no capacity, address or
# volumes.
REMOVED = frozenset({S.DISCONTINUED})


def parse_action(name: str) -> Action | None:
    if name in ALIASES:
        return ALIASES[name]
    try:
        return Action(name)
    except ValueError:
        return None


def refusal(action: Action, status: Status) -> str:
    article = "an" if status.value[0] in "aeiou" else "a"
    return f"Can't {action.value} {article} {status.value} cluster"
