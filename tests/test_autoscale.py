"""The queue and replica arithmetic of serverless deployments, at exact instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from verda_server.serverless.autoscale import (
    Fleet,
    Message,
    Outcome,
    Policy,
    advance,
    next_event,
    wanted,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def policy(**changes: object) -> Policy:
    base: dict[str, object] = {
        "min_replicas": 0,
        "max_replicas": 3,
        "scale_up_delay": timedelta(seconds=10),
        "scale_down_delay": timedelta(seconds=60),
        "queue_threshold": 2.0,
        "concurrency": 1,
        "message_ttl": timedelta(seconds=300),
        "work": timedelta(seconds=5),
    }
    base.update(changes)
    return Policy(**base)  # type: ignore[arg-type]


def arrivals(*seconds: float) -> list[Message]:
    return [Message(f"m{n}", s(at)) for n, at in enumerate(seconds)]


@pytest.mark.parametrize(
    ("in_system", "minimum", "maximum", "threshold", "expected"),
    [
        (0, 0, 3, 2.0, 0),
        (0, 1, 3, 2.0, 1),
        (1, 0, 3, 2.0, 1),
        (2, 0, 3, 2.0, 1),
        (3, 0, 3, 2.0, 2),
        (100, 0, 3, 2.0, 3),
        (1, 0, 3, 0.1, 3),
        (3, 0, 5, 1.5, 2),
        (4, 0, 5, 1.5, 3),
        (5, 0, 0, 1.0, 0),
        (1, 0, 1, 2.0, 1),
        (2, 0, 3, 2.0, 1),
        (4, 0, 3, 2.0, 2),
    ],
)
def test_wanted_is_ceil_of_load_over_threshold_clamped(
    in_system: int, minimum: int, maximum: int, threshold: float, expected: int
) -> None:
    p = policy(min_replicas=minimum, max_replicas=maximum, queue_threshold=threshold)
    assert wanted(p, in_system) == expected


def test_scale_from_zero_waits_exactly_the_scale_up_delay() -> None:
    fleet, msgs, p = Fleet(0, T0), arrivals(0), policy()
    advance(fleet, msgs, p, s(9.999))
    assert fleet.replicas == 0 and msgs[0].started_at is None
    assert next_event(fleet, msgs, p) == s(10)
    advance(fleet, msgs, p, s(10))
    assert fleet.replicas == 1 and fleet.changes == [(s(10), 1)]
    assert msgs[0].started_at == s(10)
    advance(fleet, msgs, p, s(15))
    assert msgs[0].outcome is Outcome.COMPLETED and msgs[0].finished_at == s(15)


def test_scale_down_after_exactly_the_scale_down_delay_of_an_empty_queue() -> None:
    fleet, msgs, p = Fleet(1, T0), arrivals(0), policy()
    advance(fleet, msgs, p, s(5))
    assert msgs[0].outcome is Outcome.COMPLETED
    advance(fleet, msgs, p, s(64.999))
    assert fleet.replicas == 1
    advance(fleet, msgs, p, s(65))
    assert fleet.replicas == 0 and fleet.changes == [(s(65), 0)]


def test_min_replicas_are_kept_with_nothing_to_do() -> None:
    fleet, p = Fleet(2, T0), policy(min_replicas=2)
    advance(fleet, [], p, s(3600))
    assert fleet.replicas == 2 and fleet.changes == []


def test_a_load_that_drops_before_the_delay_cancels_the_scale_up() -> None:
    # One replica, three messages (wanted 2) finishing one by one before 10 s.
    p = policy(min_replicas=1, concurrency=3, work=timedelta(seconds=4))
    fleet, msgs = Fleet(1, T0), arrivals(0, 0, 0)
    advance(fleet, msgs, p, s(4))
    assert all(m.outcome is Outcome.COMPLETED for m in msgs)
    advance(fleet, msgs, p, s(100))
    assert fleet.changes == [] and fleet.replicas == 1


def test_scale_up_goes_to_what_is_wanted_at_that_instant_and_is_capped() -> None:
    fleet, msgs, p = Fleet(1, T0), arrivals(*([0] * 20)), policy(work=timedelta(seconds=100))
    advance(fleet, msgs, p, s(10))
    assert fleet.changes == [(s(10), 3)]
    assert sum(1 for m in msgs if m.started_at is not None) == 3


def test_a_message_not_done_within_the_ttl_is_dropped_at_arrival_plus_ttl() -> None:
    p = policy(min_replicas=1, max_replicas=1, message_ttl=timedelta(seconds=8))
    fleet, msgs = Fleet(1, T0), arrivals(0, 0)
    advance(fleet, msgs, p, s(7.999))
    assert msgs[1].outcome is None
    advance(fleet, msgs, p, s(8))
    assert msgs[0].outcome is Outcome.COMPLETED and msgs[0].finished_at == s(5)
    assert msgs[1].outcome is Outcome.EXPIRED and msgs[1].finished_at == s(8)


def test_finishing_exactly_at_the_ttl_counts_as_completed() -> None:
    p = policy(min_replicas=1, max_replicas=1, message_ttl=timedelta(seconds=5))
    fleet, msgs = Fleet(1, T0), arrivals(0)
    advance(fleet, msgs, p, s(5))
    assert msgs[0].outcome is Outcome.COMPLETED


def test_concurrency_lets_one_replica_take_several_at_once() -> None:
    p = policy(min_replicas=1, max_replicas=1, concurrency=2)
    fleet, msgs = Fleet(1, T0), arrivals(0, 0, 0)
    advance(fleet, msgs, p, s(0))
    assert [m.started_at for m in msgs] == [s(0), s(0), None]
    advance(fleet, msgs, p, s(10))
    assert msgs[2].started_at == s(5) and msgs[2].finished_at == s(10)


def test_a_long_jump_replays_every_step_in_order() -> None:
    stepwise_fleet, stepwise = Fleet(0, T0), arrivals(0, 1, 2, 3, 4, 5, 6, 7)
    jump_fleet, jump = Fleet(0, T0), arrivals(0, 1, 2, 3, 4, 5, 6, 7)
    p = policy()
    for second in range(0, 400):
        advance(stepwise_fleet, stepwise, p, s(second))
    advance(jump_fleet, jump, p, s(399))
    assert stepwise_fleet.changes == jump_fleet.changes
    assert [(m.started_at, m.finished_at, m.outcome) for m in stepwise] == [
        (m.started_at, m.finished_at, m.outcome) for m in jump
    ]
    assert jump_fleet.replicas == 0


def test_paused_policy_runs_nothing() -> None:
    fleet, msgs, p = Fleet(0, T0), arrivals(0), policy(min_replicas=0, max_replicas=0)
    advance(fleet, msgs, p, s(299))
    assert msgs[0].started_at is None and fleet.changes == []
    advance(fleet, msgs, p, s(300))
    assert msgs[0].outcome is Outcome.EXPIRED


def test_nothing_is_due_for_an_idle_fleet_at_its_count() -> None:
    assert next_event(Fleet(0, T0), [], policy()) is None


def test_advance_stands_at_the_instant_asked() -> None:
    fleet = Fleet(1, T0)
    advance(fleet, [], policy(min_replicas=1), s(42))
    assert fleet.as_of == s(42)
    advance(fleet, [], policy(min_replicas=1), s(41))
    assert fleet.as_of == s(42)


def test_with_no_work_time_a_replica_answers_everything_at_once() -> None:
    p = policy(min_replicas=1, max_replicas=1, work=timedelta(0))
    fleet, msgs = Fleet(1, T0), arrivals(0, 0, 0)
    advance(fleet, msgs, p, s(0))
    assert [(m.outcome, m.finished_at) for m in msgs] == [(Outcome.COMPLETED, s(0))] * 3
    assert next_event(fleet, msgs, p) is None


def test_the_count_wanted_is_messages_over_threshold_rounded_up() -> None:
    # Three messages at threshold 2 want two replicas, not three.
    p = policy(min_replicas=1, max_replicas=3, work=timedelta(seconds=100))
    fleet, msgs = Fleet(1, T0), arrivals(0, 0, 0)
    advance(fleet, msgs, p, s(10))
    assert fleet.changes == [(s(10), 2)]
