"""Real instances' (--instances podman) records: volume clones name their
source, so that a clone starts as a copy of its data; instances say whether
they were powered off (force_shutdown), so that their machine is killed, not
shut down

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("volumes") as batch:
        batch.add_column(sa.Column("cloned_from", sa.String(36), nullable=True))
    with op.batch_alter_table("instances") as batch:
        batch.add_column(sa.Column("powered_off", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("instances") as batch:
        batch.drop_column("powered_off")
    with op.batch_alter_table("volumes") as batch:
        batch.drop_column("cloned_from")
