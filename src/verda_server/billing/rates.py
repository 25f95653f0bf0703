"""The arithmetic of charges: exact decimals, by the microsecond.

A meter's charge for any stretch of time is the rate times the elapsed time,
floored to the money quantum, counted from the meter's opening. Charging in
many small steps therefore adds up to exactly what one step would charge:
ten hours cost exactly ten times the hourly rate, however often the ledger
was brought up to date in between.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Context, Decimal

from verda_server.storage.money import PLACES, QUANTUM

HOURS_PER_BILLING_MONTH = 730
_MICROSECOND = timedelta(microseconds=1)
US_PER_HOUR = 3_600_000_000
# Beyond this a balance simply lasts (and timedelta would overflow).
_FOREVER_US = 100 * 366 * 24 * US_PER_HOUR
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Wide enough for any rate times any span of microseconds, without rounding.
_EXACT = Context(prec=80)


def exact(value: Decimal | str | float | int) -> Decimal:
    """A rate or amount, rounded to the money quantum (half to even)."""
    return Decimal(str(value)).quantize(QUANTUM, rounding=ROUND_HALF_EVEN)


def microseconds(start: datetime, end: datetime) -> int:
    return max(0, (end - start) // _MICROSECOND)


def cost(rate_per_hour: Decimal, start: datetime, end: datetime) -> Decimal:
    """What `rate_per_hour` costs from `start` to `end`, floored to the quantum."""
    spent = _EXACT.multiply(rate_per_hour, microseconds(start, end))
    return _EXACT.divide(spent, US_PER_HOUR).quantize(QUANTUM, rounding=ROUND_FLOOR)


def epoch_us(at: datetime) -> int:
    """An instant as whole microseconds since the epoch."""
    return (at - _EPOCH) // _MICROSECOND


def from_epoch_us(count: int) -> datetime:
    return _EPOCH + timedelta(microseconds=count)


def quanta(amount: Decimal) -> int:
    """An amount as a whole number of money quanta; one finer than the quantum
    is refused, never truncated."""
    scaled = amount.scaleb(PLACES)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} is finer than the money quantum")
    return int(scaled)


def from_quanta(count: int) -> Decimal:
    return Decimal(count).scaleb(-PLACES, context=_EXACT)


def monthly_to_hourly(monthly: Decimal) -> Decimal:
    return exact(_EXACT.divide(monthly, HOURS_PER_BILLING_MONTH))


def hours_covered(balance: Decimal, rate_per_hour: Decimal) -> timedelta | None:
    """How long a positive `balance` lasts at `rate_per_hour`, rounded up to the
    microsecond; None when nothing is charged."""
    if rate_per_hour <= 0:
        return None
    spent_us = _EXACT.divide(_EXACT.multiply(balance, US_PER_HOUR), rate_per_hour)
    whole = int(spent_us.to_integral_value(rounding=ROUND_CEILING))
    return timedelta(microseconds=min(whole, _FOREVER_US))
