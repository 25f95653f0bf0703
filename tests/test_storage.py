"""The store: migrations match the models, SQLite is configured for durability."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from verda_server.storage.migrate import alembic_config
from verda_server.storage.models import Base


def test_the_migrated_schema_matches_the_models(live):
    with live.context.db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert context.get_current_revision() == head


def test_sqlite_runs_in_wal_with_foreign_keys_and_full_sync(live):
    if live.context.db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas")
    with live.context.db.read() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert session.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL


def test_sqlite_sync_normal_is_a_choice_and_nothing_else_is(tmp_path):
    from verda_server.storage.database import Database

    for mode, level in (("full", 2), ("normal", 1)):
        db = Database(f"sqlite:///{tmp_path / mode}.db", sqlite_sync=mode)
        try:
            with db.read() as session:
                assert session.execute(text("PRAGMA synchronous")).scalar() == level
                assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        finally:
            db.dispose()
    with pytest.raises(ValueError, match="sqlite_sync"):
        Database(f"sqlite:///{tmp_path / 'off'}.db", sqlite_sync="off")


def test_a_second_start_on_the_same_store_is_idempotent(live):
    from verda_server.app import build

    settings = live.context.settings
    again = build(settings)
    try:
        assert again.bootstrap.project_id == live.server.bootstrap.project_id
        assert again.bootstrap.client_id == live.server.bootstrap.client_id
        assert again.context.tokens._keys.signing_key() == live.context.tokens._keys.signing_key()
    finally:
        again.context.db.dispose()
