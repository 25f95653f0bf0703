"""tags: project key/value pairs and their links to instances, volumes and clusters

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tags",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=127), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_tags_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
        sa.UniqueConstraint("project_id", "key", "value", name="uq_tags_project_id_key_value"),
    )
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tags_project_id"), ["project_id"], unique=False)

    op.create_table(
        "tag_links",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("resource_id", sa.String(length=36), nullable=False),
        sa.Column("tag_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tag_id"],
            ["tags.id"],
            name=op.f("fk_tag_links_tag_id_tags"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("kind", "resource_id", "tag_id", name=op.f("pk_tag_links")),
    )
    with op.batch_alter_table("tag_links", schema=None) as batch_op:
        batch_op.create_index("ix_tag_links_tag_id", ["tag_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tag_links", schema=None) as batch_op:
        batch_op.drop_index("ix_tag_links_tag_id")
    op.drop_table("tag_links")
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tags_project_id"))
    op.drop_table("tags")
