"""What every request handler may use, built once per application."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from verda_server.auth.service import TokenService
from verda_server.catalog.service import Catalog
from verda_server.clock import Clock
from verda_server.config import Settings
from verda_server.lifecycle.reconcile import Reconciler
from verda_server.storage.database import Database


@dataclass
class AppContext:
    settings: Settings
    db: Database
    clock: Clock
    catalog: Catalog
    tokens: TokenService
    reconciler: Reconciler


async def get_context(request: Request) -> AppContext:
    return request.app.state.context  # type: ignore[no-any-return]


Context = Annotated[AppContext, Depends(get_context)]
