"""Spot eviction: the instant each live spot instance is to be evicted

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.add_column(sa.Column("evict_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_instances_evict_at"), ["evict_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_instances_evict_at"))
        batch_op.drop_column("evict_at")
