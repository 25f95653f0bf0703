"""FastAPI imported with its OpenAPI models left unbuilt until first used.

`fastapi.openapi.models` defines some fifty pydantic models (the OpenAPI
document's own shape), whose validators were a twentieth of the time to start;
they serve only to build the served documents, which are made on their first
request anyway, and the few security schemes made at import. Pydantic builds a
model whose configuration says `defer_build` on its first use instead, and
FastAPI's models say nothing, so the default is switched for the time of that
import. The default lives in a private module of pydantic: were it ever to
move, FastAPI is simply imported as usual.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any


def import_fastapi() -> None:
    if "fastapi.openapi.models" in sys.modules:
        return
    defaults: dict[str, Any] | None
    try:
        from pydantic._internal._config import config_defaults as defaults
    except ImportError:  # pragma: no cover - a pydantic without it
        defaults = None
    if defaults is None or "defer_build" not in defaults:  # pragma: no cover
        importlib.import_module("fastapi")
        return
    before = defaults["defer_build"]
    defaults["defer_build"] = True
    try:
        importlib.import_module("fastapi.openapi.models")
        importlib.import_module("fastapi")
    finally:
        defaults["defer_build"] = before
