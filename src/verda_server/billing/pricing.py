"""What an instance costs per hour: the catalog price, less a coupon, less a
long-term contract's discount. Every step is exact decimal arithmetic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from verda_server.api.errors import invalid
from verda_server.billing.rates import exact
from verda_server.catalog.service import Catalog
from verda_server.catalog.source import LongTermPeriodSource

_HOURS_PER_UNIT = {"hour": 1, "day": 24, "week": 7 * 24, "month": 730, "year": 8760}
_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class LongTerm:
    period: LongTermPeriodSource
    ends_at: datetime
    price: Decimal  # discounted
    payg_price: Decimal  # what follows the end


def period_length(period: LongTermPeriodSource) -> timedelta:
    """Months are billing months (730 h) and years 8760 h, as volume prices are."""
    return timedelta(hours=_HOURS_PER_UNIT[period.unit_name] * period.unit_value)


def with_coupon(
    catalog: Catalog,
    code: str | None,
    instance_type: str,
    price: Decimal,
    currency: str,
    now: datetime,
) -> Decimal:
    if code is None:
        return price
    coupon = catalog.coupons.get(code)
    if coupon is None:
        raise invalid(f"coupon: unknown coupon {code!r}")
    if coupon.expires_at is not None and now >= coupon.expires_at:
        raise invalid(f"coupon: coupon {code!r} expired at {coupon.expires_at.isoformat()}")
    if coupon.instance_types is not None and instance_type not in coupon.instance_types:
        raise invalid(
            f"coupon: coupon {code!r} is not valid for {instance_type} "
            f"(only {', '.join(coupon.instance_types)})"
        )
    if coupon.percent_off is not None:
        return exact(price * (_HUNDRED - coupon.percent_off) / _HUNDRED)
    assert coupon.amount_off_per_hour is not None
    off = Decimal(coupon.amount_off_per_hour.of(currency))  # type: ignore[arg-type]
    return exact(max(Decimal(0), price - off))


def find_period(catalog: Catalog, reference: str) -> LongTermPeriodSource:
    """A long-term period of instances by its code (`3_MONTHS`) or name (`3 months`)."""
    periods = catalog.long_term_periods.instances
    for period in periods:
        if reference in (period.code, period.name) and period.is_enabled:
            return period
    known = ", ".join(p.code for p in periods if p.is_enabled)
    raise invalid(f"long_term_period: unknown long-term period {reference!r} (one of {known})")


def long_term(period: LongTermPeriodSource, payg_price: Decimal, start: datetime) -> LongTerm:
    discounted = exact(payg_price * (_HUNDRED - period.discount_percentage) / _HUNDRED)
    return LongTerm(period, start + period_length(period), discounted, payg_price)
