"""Read indexes: a project's instance list, volume list and trash, tag filters and
due evictions each read by one index, never by walking other projects' rows

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28

Each new index starts with the column the single-column one it replaces had, so
every lookup the old one served is served as well.
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# (table, index replaced, new index, its columns)
CHANGES = (
    # The live list, oldest first, straight off the index (no sort), removed
    # instances out of the way.
    (
        "instances",
        "ix_instances_project_id",
        "ix_instances_project_list",
        ["project_id", "deleted_at", "created_at", "id"],
    ),
    # Spot evictions due, checked before reads of every project: the live
    # instances with an eviction time, not every live instance of the store.
    (
        "instances",
        "ix_instances_deleted_at",
        "ix_instances_live_evictions",
        ["deleted_at", "evict_at"],
    ),
    # The active list and the trash without the permanently deleted.
    (
        "volumes",
        "ix_volumes_project_id",
        "ix_volumes_project_status",
        ["project_id", "status", "is_permanently_deleted"],
    ),
    # A tag filter: from the project's tag to the resources of one kind.
    (
        "tag_links",
        "ix_tag_links_tag_id",
        "ix_tag_links_tag_kind",
        ["tag_id", "kind", "resource_id"],
    ),
)


def upgrade() -> None:
    for table, old, new, columns in CHANGES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(new, columns, unique=False)
            batch_op.drop_index(old)


def downgrade() -> None:
    for table, old, new, columns in CHANGES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(old, columns[:1], unique=False)
            batch_op.drop_index(new)
