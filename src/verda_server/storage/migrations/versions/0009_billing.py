"""Billing: exact money columns, meters, the ledger, fundings, long-term contracts

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from decimal import Decimal
from uuid import uuid4

import sqlalchemy as sa
from alembic import op

from verda_server.storage.base import UTCDateTime
from verda_server.storage.money import Money

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _exact_money(table: str, column: str, nullable: bool) -> None:
    """REAL (SQLite) or NUMERIC(18,6) (PostgreSQL) becomes the exact Money type."""
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, type_=sa.String(40), existing_nullable=nullable)
        # The REAL values came over as text such as '1000.0': write them exactly.
        rows = bind.execute(sa.text(f"SELECT id, {column} FROM {table}")).all()
        for row_id, value in rows:
            if value is not None:
                exact = str(Decimal(str(value)).quantize(Decimal("1e-12")))
                bind.execute(
                    sa.text(f"UPDATE {table} SET {column} = :v WHERE id = :id"),
                    {"v": exact, "id": row_id},
                )
    else:
        op.alter_column(
            table,
            column,
            type_=sa.Numeric(30, 12),
            existing_nullable=nullable,
            postgresql_using=f"{column}::numeric(30, 12)",
        )


def upgrade() -> None:
    _exact_money("projects", "balance", nullable=False)
    _exact_money("instances", "price_per_hour", nullable=False)
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("billing_due_at", UTCDateTime(), nullable=True))
        batch.create_index("ix_projects_billing_due_at", ["billing_due_at"])
    with op.batch_alter_table("instances") as batch:
        batch.add_column(sa.Column("long_term_period", sa.String(32), nullable=True))
        batch.add_column(sa.Column("discount_percentage", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("contract_ends_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("payg_price", Money(), nullable=True))
    op.create_table(
        "meters",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "project_id", sa.String(36), sa.ForeignKey("projects.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("resource_kind", sa.String(16), nullable=False),
        sa.Column("resource_id", sa.String(36), nullable=False),
        sa.Column("rate_per_hour", Money(), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("charged", Money(), nullable=False),
        sa.Column("charged_until", UTCDateTime(), nullable=False),
        sa.Column("rate_until", UTCDateTime(), nullable=True),
        sa.Column("next_rate", Money(), nullable=True),
    )  # fmt: skip
    op.create_index("ix_meters_project_open", "meters", ["project_id", "closed_at"])
    op.create_index("ix_meters_resource", "meters", ["resource_kind", "resource_id"])
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "project_id", sa.String(36), sa.ForeignKey("projects.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "meter_id", sa.String(36), sa.ForeignKey("meters.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("resource_kind", sa.String(16), nullable=False),
        sa.Column("resource_id", sa.String(36), nullable=False),
        sa.Column("period_start", UTCDateTime(), nullable=False),
        sa.Column("period_end", UTCDateTime(), nullable=False),
        sa.Column("amount", Money(), nullable=False),
    )  # fmt: skip
    op.create_index("ix_ledger_entries_project", "ledger_entries", ["project_id", "period_end"])
    op.create_table(
        "fundings",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "project_id", sa.String(36), sa.ForeignKey("projects.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )  # fmt: skip
    op.create_index("ix_fundings_project", "fundings", ["project_id"])
    # What each project holds now is its opening amount in the new books.
    bind = op.get_bind()
    fundings = sa.table(
        "fundings",
        sa.column("id", sa.String()),
        sa.column("project_id", sa.String()),
        sa.column("kind", sa.String()),
        sa.column("amount", Money()),
        sa.column("created_at", UTCDateTime()),
    )
    projects = sa.table(
        "projects",
        sa.column("id", sa.String()),
        sa.column("balance", Money()),
        sa.column("created_at", UTCDateTime()),
    )
    rows = bind.execute(sa.select(projects.c.id, projects.c.balance, projects.c.created_at))
    for project_id, balance, created_at in rows.all():
        bind.execute(
            fundings.insert().values(
                id=str(uuid4()), project_id=project_id, kind="opening", amount=balance,
                created_at=created_at,
            )
        )  # fmt: skip


def downgrade() -> None:
    for table in ("fundings", "ledger_entries", "meters"):
        op.drop_table(table)
    with op.batch_alter_table("instances") as batch:
        for column in ("payg_price", "contract_ends_at", "discount_percentage", "long_term_period"):
            batch.drop_column(column)
        batch.alter_column("price_per_hour", type_=sa.Numeric(12, 4), existing_nullable=False)
    with op.batch_alter_table("projects") as batch:
        batch.drop_index("ix_projects_billing_due_at")
        batch.drop_column("billing_due_at")
        batch.alter_column("balance", type_=sa.Numeric(18, 6), existing_nullable=False)
