"""FastAPI and the application imported with their pydantic models left unbuilt
until first used.

Pydantic builds a model's validator and serialiser when its class is made,
unless its configuration says `defer_build`: then on its first use. Serving
needs few of them at once, and each route's on its first request (routes are
analysed then, api/routing.py), so the default is switched for the time of
these imports:

- `fastapi.openapi.models` defines some fifty models (the OpenAPI document's
  own shape), whose validators were a twentieth of the time to start; they
  serve only to build the served documents, made on their first request (and
  the few security schemes made at import).
- the application's own models (request bodies, answers, the control API's),
  a fifth of the time to start.

The default lives in a private module of pydantic: were it ever to move, the
imports are simply made as usual. The test suite imports the application the
same way (tests/__init__.py), so it exercises what `serve` runs.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

APP = "verda_server.app"


@contextmanager
def models_built_on_first_use() -> Iterator[None]:
    defaults: Any
    try:
        from pydantic._internal._config import config_defaults as defaults
    except ImportError:  # pragma: no cover - a pydantic without it
        defaults = None
    if defaults is None or "defer_build" not in defaults:  # pragma: no cover
        yield
        return
    before = defaults["defer_build"]
    defaults["defer_build"] = True
    try:
        yield
    finally:
        defaults["defer_build"] = before


def import_fastapi() -> None:
    if "fastapi.openapi.models" in sys.modules:
        return
    with models_built_on_first_use(), _rebuilds_left_to_first_use():
        importlib.import_module("fastapi.openapi.models")
    with models_built_on_first_use():
        importlib.import_module("fastapi")


@contextmanager
def _rebuilds_left_to_first_use() -> Iterator[None]:
    """`fastapi.openapi.models` ends with `Schema.model_rebuild()` and two more,
    to resolve its forward references, which builds those models (and those
    they name) at once. A deferred model resolves them when it is built, from
    its module's names, so those calls are left out for the time of its import."""
    from pydantic import BaseModel

    rebuild = BaseModel.__dict__["model_rebuild"]

    def deferred(cls: type[BaseModel], **options: Any) -> bool | None:
        if options or cls.__pydantic_complete__:
            return rebuild.__func__(cls, **options)  # type: ignore[no-any-return]
        return None

    BaseModel.model_rebuild = classmethod(deferred)  # type: ignore[assignment,method-assign]
    try:
        yield
    finally:
        BaseModel.model_rebuild = rebuild  # type: ignore[method-assign]


def complete_deferred_models(package: str = "verda_server") -> None:
    """Build every model of the package's imported modules still deferred, in
    the order they were made (modules in import order, classes in definition
    order): a model then finds the models it names complete and reuses them.

    For what needs nearly all of them at once, the documents: built there one
    by one, each field's model would make the schemas of every model it names
    again, which took the first document three times as long as before.
    """
    from pydantic import BaseModel

    prefix = package + "."
    for name, module in list(sys.modules.items()):
        if module is None or not (name == package or name.startswith(prefix)):
            continue
        for value in list(vars(module).values()):
            if (
                isinstance(value, type)
                and issubclass(value, BaseModel)
                and value.__module__ == name
                and not value.__pydantic_complete__
            ):
                value.model_rebuild(raise_errors=False)


def import_app() -> ModuleType:
    """`verda_server.app`, imported (with FastAPI before it) with the models deferred."""
    import_fastapi()
    if APP in sys.modules:
        return sys.modules[APP]
    with models_built_on_first_use():
        return importlib.import_module(APP)
