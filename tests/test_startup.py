"""Start-up on an existing store: Alembic is skipped when the store is at the
known head, and serving imports none of the other commands' modules."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory

from tests.support.cli import invoke
from verda_server.storage.database import Database
from verda_server.storage.migrate import (
    HEAD,
    alembic_config,
    startup_lock,
    stored_revisions,
    upgrade,
)

# Modules `serve` must not load on a store that needs no migration (with the
# default settings: rate limits on, in memory).
NOT_FOR_SERVING = (
    "alembic",
    "redis",
    # PyJWT without it (auth/hs256.py).
    "cryptography",
    "verda_server.admin",
    "verda_server.control.cli",
    "verda_server.ratelimits.redis_counters",
)

_SERVE_AND_LIST_MODULES = textwrap.dedent(
    """
    import json
    import sys
    from verda_server import cli
    apps = []
    cli.GracefulServer.run = lambda self, sockets=None: apps.append(self.config.app)
    sys.argv = ["verda-server", "serve", "--database-url", sys.argv[1], "--port", "1"]
    try:
        cli.main()
    except SystemExit as exc:
        assert not exc.code, exc.code
    from fastapi.openapi.models import OpenAPI
    print(json.dumps({
        "modules": sorted(sys.modules),
        "openapi": OpenAPI.__pydantic_complete__,
        "eager": sorted(r.path for r in apps[0].routes if not hasattr(r, "analysed")),
        "analysed": [r.path for r in apps[0].routes if getattr(r, "analysed", False)],
        "compiled": [
            r.path for r in apps[0].routes
            if hasattr(r, "analysed") and "path_regex" in vars(r)
        ],
    }))
    """
)


def test_the_known_head_is_alembics_head():
    # A new migration must move HEAD too, or stores would never reach it.
    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD


def test_a_new_store_is_migrated_to_the_head(empty_database_url):
    db = Database(empty_database_url)
    try:
        with startup_lock(db) as connection:
            assert stored_revisions(connection) == set()
            upgrade(connection)
            assert stored_revisions(connection) == {HEAD}
    finally:
        db.dispose()


def test_a_store_behind_the_head_is_migrated_on_start(empty_database_url):
    db = Database(empty_database_url)
    try:
        with db.engine.connect() as connection:
            command.upgrade(alembic_config(connection), "0011")
            connection.commit()
        with startup_lock(db) as connection:
            assert stored_revisions(connection) == {"0011"}
            upgrade(connection)
            assert stored_revisions(connection) == {HEAD}
    finally:
        db.dispose()


def _serve(database_url: str) -> dict[str, Any]:
    """`serve` up to the point it would listen: the modules it loaded, and
    whether FastAPI's OpenAPI models were built."""
    done = subprocess.run(
        [sys.executable, "-c", _SERVE_AND_LIST_MODULES, database_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return loaded


def test_serving_a_current_store_loads_only_what_serving_needs(empty_database_url):
    first = _serve(empty_database_url)["modules"]
    assert "alembic" in first  # the new store was migrated
    again = _serve(empty_database_url)["modules"]
    assert [name for name in NOT_FOR_SERVING if name in again] == []


def test_serving_builds_routes_once_and_leaves_openapi_models_unbuilt(empty_database_url):
    served = _serve(empty_database_url)
    # Built with the documents, on their first request (api/fastapi_import.py).
    assert served["openapi"] is False
    # Routes as declared, no included router to build them all again on the
    # first request, each analysed on its first use (api/routing.py).
    # Only the documents' own routes are not LazyRoutes (a router made with
    # `APIRouter` instead of `lazy_router` would be built while starting).
    assert served["eager"] == ["/_admin/v1/openapi.json", "/v1/openapi.json"]
    assert served["analysed"] == []
    # Nor are their paths' patterns compiled: a request compiles those it is
    # matched against (api/routing.py).
    assert served["compiled"] == []


@pytest.mark.parametrize("group", ["projects", "admin"])
def test_the_lazily_loaded_groups_are_listed_and_run(group):
    listed = invoke("--help")
    assert listed.exit_code == 0
    assert group in listed.output
    helped = invoke(group, "--help")
    assert helped.exit_code == 0, helped.output
    assert "Usage:" in helped.output
    typo = invoke(group[:-1] + "x")
    assert typo.exit_code == 2
    assert f"Did you mean '{group}'?" in typo.output


@pytest.mark.parametrize("before", [True, False])
def test_importing_the_cli_leaves_the_collector_as_it_was(before):
    # The CLI pauses the collector for its imports only (cli.py): a program
    # importing it (the suite, a script) must not be left without one.
    code = (
        "import gc\n"
        f"gc.enable() if {before} else gc.disable()\n"
        "import verda_server.cli\n"
        "print(gc.isenabled())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(before)
