"""The volume state machine: statuses, legal actions, timed transitions.
An action from a status not in its LEGAL_FROM is refused with 403
forbidden_action; REFUSED and unknown actions are malformed input (400)."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    ORDERED = "ordered"
    ATTACHED = "attached"
    ATTACHING = "attaching"
    DETACHED = "detached"
    DELETED = "deleted"
    CLONING = "cloning"
    DETACHING = "detaching"
    DELETING = "deleting"
    RESTORING = "restoring"
    CREATED = "created"
    EXPORTED = "exported"
    CANCELED = "canceled"
    CANCELING = "canceling"


class Action(StrEnum):
    ATTACH = "attach"
    DETACH = "detach"
    DELETE = "delete"
    RENAME = "rename"
    RESIZE = "resize"
    RESTORE = "restore"
    CLONE = "clone"
    CANCEL = "cancel"
    CREATE = "create"
    EXPORT = "export"
    TRANSFER = "transfer"


S = Status
LIVE = frozenset({S.ATTACHED, S.DETACHED})
LEGAL_FROM: dict[Action, frozenset[Status]] = {
    # A shared file system may also be attached already (to other instances).
    Action.ATTACH: frozenset({S.DETACHED}),
    Action.DETACH: frozenset({S.ATTACHED}),
    Action.DELETE: LIVE,
    Action.RENAME: LIVE | {S.CLONING},
    Action.RESIZE: LIVE,
    Action.RESTORE: frozenset({S.DELETED}),
    Action.CLONE: LIVE,
    Action.CANCEL: frozenset({S.CLONING}),
}

REFUSED: dict[Action, str] = {
    Action.CREATE: "Action create is not available: create volumes with POST /v1/volumes",
    Action.EXPORT: "Action export is not available through the public API",
    Action.TRANSFER: "Action transfer is not available through the public API",
}

# A cross-location clone is `cloning` until done; a trashed volume is purged
# when its time in the trash is up.
TIMED: dict[Status, Status] = {S.CLONING: S.DETACHED}

# Statuses a volume has in the active list (not trash, not gone).
ACTIVE = frozenset({S.ORDERED, S.ATTACHED, S.DETACHED, S.CLONING})


def refusal(action: Action, status: Status) -> str:
    return f"Can't {action.value} a volume that is {status.value}"
