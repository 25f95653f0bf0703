from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class BalanceResponseDto(BaseModel):
    amount: float = Field(description="Project balance")
    currency: Literal["usd", "eur"] = Field(description="Currency type")
