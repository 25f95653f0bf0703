"""Previous generation: each project's generation before the last write that
moved it, returned by that write's own update

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-28

The read model follows a project's writes step by step (storage/changes.py):
each step needs the generation it started from, which the update that moves
the generation now keeps beside it and returns, instead of a read before it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("previous_generation", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("previous_generation")
