"""clusters, their SSH keys and their shared volumes

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from verda_server.storage.money import Money

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clusters",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("cluster_type", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=False),
        sa.Column("image", sa.String(length=128), nullable=False),
        sa.Column("os_name", sa.String(length=128), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("contract", sa.String(length=32), nullable=False),
        sa.Column("extension_settings", sa.String(length=32), nullable=True),
        sa.Column("auto_rental_extension", sa.Boolean(), nullable=True),
        sa.Column("turn_to_pay_as_you_go", sa.Boolean(), nullable=True),
        sa.Column("price_per_hour", Money(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("startup_script_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_clusters_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["startup_script_id"],
            ["startup_scripts.id"],
            name=op.f("fk_clusters_startup_script_id_startup_scripts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clusters")),
        sa.UniqueConstraint("location", "ip", name="uq_clusters_location_ip"),
    )
    with op.batch_alter_table("clusters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_clusters_deleted_at"), ["deleted_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_clusters_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_clusters_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_clusters_status"), ["status"], unique=False)

    op.create_table(
        "cluster_ssh_keys",
        sa.Column("cluster_id", sa.String(length=36), nullable=False),
        sa.Column("ssh_key_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["clusters.id"],
            name=op.f("fk_cluster_ssh_keys_cluster_id_clusters"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ssh_key_id"],
            ["ssh_keys.id"],
            name=op.f("fk_cluster_ssh_keys_ssh_key_id_ssh_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("cluster_id", "ssh_key_id", name=op.f("pk_cluster_ssh_keys")),
    )
    op.create_table(
        "cluster_volumes",
        sa.Column("volume_id", sa.String(length=36), nullable=False),
        sa.Column("cluster_id", sa.String(length=36), nullable=False),
        sa.Column("mount_point", sa.String(length=255), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["clusters.id"],
            name=op.f("fk_cluster_volumes_cluster_id_clusters"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["volume_id"],
            ["volumes.id"],
            name=op.f("fk_cluster_volumes_volume_id_volumes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("volume_id", name=op.f("pk_cluster_volumes")),
    )
    with op.batch_alter_table("cluster_volumes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cluster_volumes_cluster_id"), ["cluster_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("cluster_volumes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cluster_volumes_cluster_id"))

    op.drop_table("cluster_volumes")
    op.drop_table("cluster_ssh_keys")
    with op.batch_alter_table("clusters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clusters_status"))
        batch_op.drop_index(batch_op.f("ix_clusters_project_id"))
        batch_op.drop_index(batch_op.f("ix_clusters_due_at"))
        batch_op.drop_index(batch_op.f("ix_clusters_deleted_at"))

    op.drop_table("clusters")
