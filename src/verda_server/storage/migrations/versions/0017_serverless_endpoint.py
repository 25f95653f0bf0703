"""Serverless endpoint: requests sent to deployments, and where each fleet's replay stands

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("serverless_deployments") as batch:
        batch.add_column(sa.Column("fleet_as_of", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("queue_due_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "inference_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("deployment_id", sa.String(length=36), nullable=False),
        sa.Column("is_async", sa.Boolean(), nullable=False),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["serverless_deployments.id"],
            name=op.f("fk_inference_requests_deployment_id_serverless_deployments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_inference_requests_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inference_requests")),
    )
    op.create_index(op.f("ix_inference_requests_project_id"), "inference_requests", ["project_id"])
    op.create_index(
        "ix_inference_requests_open",
        "inference_requests",
        ["deployment_id", "outcome", "arrived_at"],
    )


def downgrade() -> None:
    op.drop_table("inference_requests")
    with op.batch_alter_table("serverless_deployments") as batch:
        batch.drop_column("queue_due_at")
        batch.drop_column("fleet_as_of")
