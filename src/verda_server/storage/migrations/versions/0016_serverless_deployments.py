"""Serverless container deployments and jobs

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

from verda_server.storage.base import UTCDateTime
from verda_server.storage.money import Money

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "serverless_deployments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("compute_name", sa.String(length=64), nullable=False),
        sa.Column("compute_size", sa.Integer(), nullable=False),
        sa.Column("is_spot", sa.Boolean(), nullable=False),
        sa.Column("registry_is_private", sa.Boolean(), nullable=False),
        sa.Column("registry_credentials", sa.String(length=255), nullable=True),
        sa.Column("containers", sa.Text(), nullable=False),
        sa.Column("scaling", sa.Text(), nullable=False),
        sa.Column("replicas", sa.Text(), nullable=False),
        sa.Column("replica_count", sa.Integer(), nullable=False),
        sa.Column("scale_target", sa.Integer(), nullable=True),
        sa.Column("scale_since", UTCDateTime(), nullable=True),
        sa.Column("units_per_replica", sa.Integer(), nullable=False),
        sa.Column("price_per_replica_hour", Money(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.Column("status_until", UTCDateTime(), nullable=True),
        sa.Column("due_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_serverless_deployments_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_serverless_deployments")),
    )
    op.create_index(
        op.f("ix_serverless_deployments_project_id"),
        "serverless_deployments",
        ["project_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_serverless_deployments_due_at"),
        "serverless_deployments",
        ["due_at"],
        unique=False,
    )
    op.create_index(
        "uq_serverless_deployments_live_name",
        "serverless_deployments",
        ["project_id", "name"],
        unique=True,
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("serverless_deployments")
