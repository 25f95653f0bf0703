"""Control state: what operators set for every replica (clock, admin token, …)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "control_state",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_control_state")),
    )
    op.create_index(
        op.f("ix_control_state_generation"), "control_state", ["generation"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_control_state_generation"), table_name="control_state")
    op.drop_table("control_state")
