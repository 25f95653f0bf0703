"""The arithmetic of charges, without a server: exact to the quantum."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from verda_server.billing.ledger import current_rate, owed
from verda_server.billing.models import Meter
from verda_server.billing.rates import cost, hours_covered

T0 = datetime(2027, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def meter(rate: str, charged: str = "0", until: datetime | None = None, then: str | None = None):
    return Meter(
        rate_per_hour=Decimal(rate),
        opened_at=T0,
        charged=Decimal(charged),
        charged_until=T0,
        rate_until=until,
        next_rate=None if then is None else Decimal(then),
    )


def test_cost_is_the_rate_times_the_time_floored():
    assert cost(Decimal("3.6"), T0, T0 + HOUR) == Decimal("3.6")
    assert cost(Decimal("3.6"), T0, T0 + timedelta(microseconds=1)) == Decimal("1e-9")
    assert cost(Decimal("1"), T0, T0 + timedelta(seconds=1)) == Decimal("0.000277777777")
    assert cost(Decimal("1"), T0 + HOUR, T0) == 0  # no negative time


def test_a_balance_lasts_to_the_next_whole_microsecond():
    assert hours_covered(Decimal("1"), Decimal("3")) == timedelta(microseconds=1_200_000_000)
    # 3.6e9 / 7 = 514285714.28…: the money is not gone until the next microsecond.
    assert hours_covered(Decimal("1"), Decimal("7")) == timedelta(microseconds=514_285_715)
    assert hours_covered(Decimal("1"), Decimal("0")) is None


def test_what_a_meter_owes_across_the_end_of_its_rate():
    ends = T0 + 2 * HOUR
    m = meter("2", charged="1.5", until=ends, then="10")
    assert owed(m, T0 + HOUR) == Decimal("0.5")
    assert owed(m, ends) == Decimal("2.5")
    assert owed(m, ends + HOUR) == Decimal("12.5")  # 2 h at 2, 1 h at 10, less 1.5 paid
    assert owed(meter("2", until=ends), ends + HOUR) == Decimal("4")  # nothing follows


def test_the_rate_a_meter_runs_at():
    ends = T0 + HOUR
    m = meter("2", until=ends, then="10")
    assert current_rate(m, ends - timedelta(microseconds=1)) == 2
    assert current_rate(m, ends) == 10
    assert current_rate(meter("2", until=ends), ends) == 0
    assert current_rate(meter("2"), ends) == 2
