"""Query parameters shared by several endpoints."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import BeforeValidator, WithJsonSchema

from verda_server.api.catalog_enums import LocationCode
from verda_server.api.errors import invalid
from verda_server.catalog.source import Currency


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


CurrencyParam = Annotated[
    Currency,
    BeforeValidator(_lower),
    # Any case, as the README says: a pattern, since an enum would be case-sensitive.
    WithJsonSchema({"type": "string", "pattern": "^(?:[uU][sS][dD]|[eE][uU][rR])$"}),
    Query(description="Currency of the prices: usd or eur, in any case"),
]

LocationParam = Annotated[
    LocationCode | None, Query(description="Datacenter location code, e.g. FIN-01")
]


async def location_filter(
    location_code_camel: Annotated[
        LocationCode | None,
        Query(
            alias="locationCode",
            deprecated=True,
            description="Deprecated spelling of location_code",
        ),
    ] = None,
    location_code: Annotated[
        LocationCode | None,
        Query(
            description="Datacenter location code, e.g. FIN-01; "
            "if locationCode is sent too, the two must agree (400 otherwise)"
        ),
    ] = None,
) -> str | None:
    """Both spellings of the location are accepted; they must not disagree."""
    if (
        location_code_camel is not None
        and location_code is not None
        and location_code_camel != location_code
    ):
        raise invalid("locationCode and location_code disagree; send one of them")
    return location_code if location_code is not None else location_code_camel


LocationFilter = Annotated[str | None, Depends(location_filter)]


async def spot_flag(
    is_spot_camel: Annotated[
        bool | None,
        Query(
            alias="isSpot",
            deprecated=True,
            description="Deprecated spelling of is_spot (sent by the Python SDK); "
            "if is_spot is sent too, the two must agree (400 otherwise)",
        ),
    ] = None,
    is_spot: Annotated[
        bool | None,
        Query(
            description="Spot capacity (spelling used by the Go SDK); "
            "if isSpot is sent too, the two must agree (400 otherwise)"
        ),
    ] = None,
) -> bool:
    """Both spellings of the spot flag are accepted; they must not disagree."""
    if is_spot_camel is not None and is_spot is not None and is_spot_camel != is_spot:
        raise invalid("isSpot and is_spot disagree; send one of them")
    return bool(is_spot if is_spot is not None else is_spot_camel)


SpotFlag = Annotated[bool, Depends(spot_flag)]
