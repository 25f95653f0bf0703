"""Project quotas: instances, volumes and clusters beside startup scripts

Revision ID: 0012
Revises: 0009
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# The defaults of verda_server/projects/quotas.py, for the projects that exist.
COLUMNS = (("instance_quota", 50), ("volume_quota", 100), ("cluster_quota", 5))


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        for name, default in COLUMNS:
            batch.add_column(
                sa.Column(name, sa.Integer(), nullable=False, server_default=str(default))
            )


def downgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        for name, _ in COLUMNS:
            batch.drop_column(name)
