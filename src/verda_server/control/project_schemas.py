"""Shapes of the control API's projects, credentials, quotas and money.

Money is written as a string holding the exact decimal the ledger keeps (a
JSON number would round it in most clients); it may be sent as a string or a
number."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from verda_server.api.request import RequestModel
from verda_server.billing.funds import MAX_BALANCE
from verda_server.projects.quotas import QUOTAS, Kind
from verda_server.projects.service import MAX_CLIENT_ID, MAX_CLIENT_SECRET

Currency = Literal["usd", "eur"]
AmountIn = Decimal
_AMOUNT = (
    f"An exact decimal from 0 to below {MAX_BALANCE}, at most 12 decimal places, "
    "as a string (exact) or a number"
)


class QuotaDto(BaseModel):
    quota: int = Field(description="The most the project may hold")
    used: int = Field(
        description="What it holds now (instances and clusters until discontinued, "
        "volumes until permanently deleted: the trash counts, startup scripts)"
    )
    hard_max: int = Field(description="The highest quota that can be set")
    default: int = Field(description="The quota of a new project")


class QuotasDto(BaseModel):
    startup_scripts: QuotaDto
    instances: QuotaDto
    volumes: QuotaDto
    clusters: QuotaDto


def _quota_field(kind: Kind) -> object:
    quota = QUOTAS[kind]
    return Field(
        default=None,
        ge=0,
        le=quota.hard_max,
        description=f"Most {quota.plural} (0 to {quota.hard_max}; default {quota.default})",
    )


class SetQuotasDto(RequestModel):
    """Only the quotas given change. A quota below what the project holds takes
    nothing away: it refuses new creations until the project is under it."""

    model_config = ConfigDict(extra="forbid")

    startup_scripts: StrictInt | None = _quota_field(Kind.STARTUP_SCRIPTS)  # type: ignore[assignment]
    instances: StrictInt | None = _quota_field(Kind.INSTANCES)  # type: ignore[assignment]
    volumes: StrictInt | None = _quota_field(Kind.VOLUMES)  # type: ignore[assignment]
    clusters: StrictInt | None = _quota_field(Kind.CLUSTERS)  # type: ignore[assignment]

    def given(self) -> dict[Kind, int]:
        return {kind: value for kind in Kind if (value := getattr(self, kind.value)) is not None}


class CredentialDto(BaseModel):
    client_id: str
    created_at: str = Field(description="RFC 3339")


class NewCredentialDto(BaseModel):
    project_id: str
    client_id: str
    client_secret: str = Field(description="Shown this once: only its hash is kept")
    created_at: str = Field(description="RFC 3339")


class AddCredentialDto(RequestModel):
    """Both or neither: without them a pair is generated."""

    model_config = ConfigDict(extra="forbid")

    client_id: str | None = Field(
        default=None, description=f"1 to {MAX_CLIENT_ID} printable ASCII characters, no spaces"
    )
    client_secret: str | None = Field(
        default=None,
        description=f"1 to {MAX_CLIENT_SECRET} printable ASCII characters, no spaces",
    )


class ProjectDto(BaseModel):
    id: str
    name: str
    is_default: bool = Field(description="The project the server made on first start")
    created_at: str = Field(description="RFC 3339")
    balance: str = Field(description="Exact, counting what has accrued until now")
    currency: Currency
    quotas: QuotasDto
    credentials: list[CredentialDto] = Field(description="Client ids only, never secrets")


class CreatedProjectDto(ProjectDto):
    credential: NewCredentialDto | None = Field(
        description="Its first credential pair (the secret shown this once); "
        "null when created with `credentials: false`"
    )


class CreateProjectDto(RequestModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="Project", min_length=1, max_length=255)
    balance: AmountIn = Field(default=Decimal(1000), description=_AMOUNT)
    currency: Currency = "usd"
    quotas: SetQuotasDto | None = Field(default=None, description="Quotas other than the defaults")
    credentials: bool = Field(default=True, description="false: create no credential pair")
    client_id: str | None = Field(
        default=None, description="A known first pair, with client_secret (else generated)"
    )
    client_secret: str | None = None


class FundingDto(BaseModel):
    at: str = Field(description="RFC 3339")
    kind: Literal["opening", "top_up", "adjustment", "charge"]
    amount: str = Field(description="Signed: a charge is negative")
    resource_kind: str | None = Field(description="What a charge was for")
    resource_id: str | None


class BalanceDto(BaseModel):
    project_id: str
    amount: str = Field(description="Exact, counting what has accrued until now")
    currency: Currency
    entries: list[FundingDto] = Field(
        description="The latest money movements, newest first: fundings and charges"
    )


class ChangeBalanceDto(RequestModel):
    model_config = ConfigDict(extra="forbid")

    amount: AmountIn | None = Field(default=None, description="Set the balance to this. " + _AMOUNT)
    top_up: AmountIn | None = Field(
        default=None, description="Add this (above 0) to the balance. " + _AMOUNT
    )

    schema_rules = ({"oneOf": [{"required": ["amount"]}, {"required": ["top_up"]}]},)
