"""Query parameters shared by several endpoints."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import BeforeValidator

from verda_server.api.errors import invalid
from verda_server.catalog.source import Currency


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


CurrencyParam = Annotated[
    Currency,
    BeforeValidator(_lower),
    Query(description="Currency of the prices: usd or eur"),
]

LocationParam = Annotated[str | None, Query(description="Datacenter location code, e.g. FIN-01")]


async def spot_flag(
    is_spot_camel: Annotated[
        bool | None,
        Query(alias="isSpot", description="Spot capacity (spelling used by the Python SDK)"),
    ] = None,
    is_spot: Annotated[
        bool | None, Query(description="Spot capacity (spelling used by the Go SDK)")
    ] = None,
) -> bool:
    """Both spellings of the spot flag are accepted; they must not disagree."""
    if is_spot_camel is not None and is_spot is not None and is_spot_camel != is_spot:
        raise invalid("isSpot and is_spot disagree; send one of them")
    return bool(is_spot if is_spot is not None else is_spot_camel)


SpotFlag = Annotated[bool, Depends(spot_flag)]
