"""A deployment's request queue and replica count, played forward by the server clock.

No container runs behind an endpoint, so what a real fleet would do is computed:
queued requests are taken first-come first-served by free slots (replicas x
concurrent requests per replica), each takes the deployment's inference time,
and one that has not finished within the request TTL (queue and inference) is
dropped. The queue-load trigger works as the docs describe it, KEDA-style: the
wanted replica count is `ceil(messages in the system / threshold)`, clamped to
min..max; when it differs from the current count for the whole scale-up (or
scale-down) delay, the count moves to what is wanted at that instant.

Everything here is a pure function of the messages, the policy and the instant,
so any moment can be replayed exactly (the clock may jump by an hour at once) and
every replica of the server computes the same fleet from the same rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


class Outcome(StrEnum):
    COMPLETED = "completed"
    EXPIRED = "expired"
    PURGED = "purged"


@dataclass(frozen=True)
class Policy:
    min_replicas: int
    max_replicas: int
    scale_up_delay: timedelta
    scale_down_delay: timedelta
    # Queued messages per replica that the queue-load trigger tolerates.
    queue_threshold: float
    concurrency: int
    message_ttl: timedelta
    # How long the (absent) container takes over one request.
    work: timedelta


@dataclass
class Message:
    id: str
    arrived_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    outcome: Outcome | None = None

    @property
    def open(self) -> bool:
        return self.outcome is None


@dataclass
class Fleet:
    replicas: int
    as_of: datetime
    # Since when the wanted count has been above (wish_up) or below `replicas`
    # without a break; None while it equals `replicas`.
    wish_since: datetime | None = None
    wish_up: bool = False
    # Each change of the count, for replicas, billing and capacity: (instant, count).
    changes: list[tuple[datetime, int]] = field(default_factory=list)


def wanted(policy: Policy, in_system: int) -> int:
    need = math.ceil(in_system / policy.queue_threshold)
    return max(policy.min_replicas, min(policy.max_replicas, need))


def advance(fleet: Fleet, messages: list[Message], policy: Policy, until: datetime) -> None:
    """Plays the fleet and its open messages (ordered by arrival) forward to `until`."""
    if until < fleet.as_of:
        return
    at = fleet.as_of
    while True:
        _settle(fleet, messages, policy, at)
        following = _next_event(fleet, messages, policy, at)
        if following is None or following > until:
            break
        at = following
    fleet.as_of = until


def next_event(fleet: Fleet, messages: list[Message], policy: Policy) -> datetime | None:
    """The next instant at which something changes by itself (None: nothing will)."""
    return _next_event(fleet, messages, policy, fleet.as_of)


def _work(fleet: Fleet, messages: list[Message], policy: Policy, at: datetime) -> None:
    """Finish and expire what is due by `at`, then fill the free slots; with no
    work time, what starts finishes at once and frees its slot for the next."""
    while True:
        for message in messages:
            if message.outcome is not None:
                continue
            if message.started_at is not None and message.started_at + policy.work <= at:
                # Finishing wins over expiry at the same instant: the answer was there.
                message.finished_at = message.started_at + policy.work
                message.outcome = Outcome.COMPLETED
            elif message.arrived_at + policy.message_ttl <= at:
                message.finished_at = message.arrived_at + policy.message_ttl
                message.outcome = Outcome.EXPIRED
        if not _start_waiting(fleet, messages, policy, at) or policy.work:
            return


def _settle(fleet: Fleet, messages: list[Message], policy: Policy, at: datetime) -> None:
    _work(fleet, messages, policy, at)
    want = wanted(policy, _in_system(messages, at))
    if want == fleet.replicas:
        fleet.wish_since = None
        return
    up = want > fleet.replicas
    if fleet.wish_since is None or fleet.wish_up != up:
        fleet.wish_since, fleet.wish_up = at, up
    if fleet.wish_since + _delay(policy, up) <= at:
        fleet.replicas = want
        fleet.changes.append((at, want))
        fleet.wish_since = None
        _work(fleet, messages, policy, at)


def _delay(policy: Policy, up: bool) -> timedelta:
    return policy.scale_up_delay if up else policy.scale_down_delay


def _start_waiting(fleet: Fleet, messages: list[Message], policy: Policy, at: datetime) -> int:
    """Start what waits, first come first served, in the free slots; how many."""
    busy = sum(1 for m in messages if m.open and m.started_at is not None)
    free = fleet.replicas * policy.concurrency - busy
    started = 0
    for message in messages:
        if started >= free or message.arrived_at > at:
            break
        if message.open and message.started_at is None:
            message.started_at = at
            started += 1
    return started


def _in_system(messages: list[Message], at: datetime) -> int:
    return sum(1 for m in messages if m.open and m.arrived_at <= at)


def _next_event(
    fleet: Fleet, messages: list[Message], policy: Policy, at: datetime
) -> datetime | None:
    candidates: list[datetime] = []
    for message in messages:
        if not message.open:
            continue
        if message.arrived_at > at:
            candidates.append(message.arrived_at)
            continue
        if message.started_at is not None:
            candidates.append(message.started_at + policy.work)
        candidates.append(message.arrived_at + policy.message_ttl)
    if fleet.wish_since is not None:
        candidates.append(fleet.wish_since + _delay(policy, fleet.wish_up))
    later = [c for c in candidates if c > at]
    return min(later) if later else None
