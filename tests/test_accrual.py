"""What many meters owe, summed over integers, is exactly `ledger.owed` of each:
the balance read (and the read model's balance) depends on it to the quantum."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from verda_server.billing.ledger import Accrual, owed, owed_by_all
from verda_server.storage.money import QUANTUM

BASE = datetime(2026, 1, 1, tzinfo=UTC)


def _amount(rnd: random.Random, most: int) -> Decimal:
    return Decimal(rnd.randint(0, most)) * QUANTUM


def _meter(rnd: random.Random) -> SimpleNamespace:
    opened = BASE + timedelta(microseconds=rnd.randint(0, 10**12))
    until = None
    if rnd.random() < 0.5:
        until = opened + timedelta(microseconds=rnd.randint(-(10**6), 10**12))
    return SimpleNamespace(
        rate_per_hour=_amount(rnd, 10**16),
        opened_at=opened,
        charged=_amount(rnd, 10**15),
        rate_until=until,
        next_rate=None if rnd.random() < 0.3 else _amount(rnd, 10**16),
    )


def test_each_meter_owes_exactly_what_the_decimal_arithmetic_says() -> None:
    rnd = random.Random(20261128)
    for _ in range(5000):
        meter = _meter(rnd)
        at = meter.opened_at + timedelta(microseconds=rnd.randint(-(10**6), 2 * 10**12))
        assert owed_by_all([Accrual.of(meter)], at) == owed(meter, at)


def test_many_meters_owe_the_sum_of_each_at_the_boundaries_of_a_rate() -> None:
    rnd = random.Random(7)
    meters = [_meter(rnd) for _ in range(50)]
    accruals = [Accrual.of(m) for m in meters]
    instants = [m.rate_until for m in meters if m.rate_until is not None]
    for at in instants + [i + timedelta(microseconds=d) for i in instants for d in (-1, 1)]:
        assert owed_by_all(accruals, at) == sum((owed(m, at) for m in meters), Decimal(0))


def test_an_amount_finer_than_the_quantum_is_refused_not_truncated() -> None:
    meter = SimpleNamespace(
        rate_per_hour=QUANTUM / 2,
        opened_at=BASE,
        charged=Decimal(0),
        rate_until=None,
        next_rate=None,
    )
    with pytest.raises(ValueError, match="quantum"):
        Accrual.of(meter)
