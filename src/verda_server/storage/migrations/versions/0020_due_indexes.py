"""Due indexes: whether anything of a project is due found by seeking its
instances and volumes by due instant, never by reading all of them

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-28

Every write (and every read the read model can't answer) first asks whether
anything of the project is due; with only the project's list indexes to go
by, that read every live instance and every volume of the project, so a
deploy cost more the more the project held.
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

DUE = ("instances", "volumes")


def upgrade() -> None:
    for table in DUE:
        op.create_index(f"ix_{table}_project_due", table, ["project_id", "due_at"])


def downgrade() -> None:
    for table in DUE:
        op.drop_index(f"ix_{table}_project_due", table_name=table)
