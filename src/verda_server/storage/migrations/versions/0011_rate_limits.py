"""Per-project rate limits: nullable columns, NULL meaning the server's defaults

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rate_limits_enabled", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("rate_limit_project", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("rate_limit_endpoint", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_column("rate_limit_endpoint")
        batch_op.drop_column("rate_limit_project")
        batch_op.drop_column("rate_limits_enabled")
