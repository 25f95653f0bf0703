"""instances and volumes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "volumes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("location", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("is_os_volume", sa.Boolean(), nullable=False),
        sa.Column("image_type", sa.String(length=128), nullable=True),
        sa.Column("contract", sa.String(length=32), nullable=False),
        sa.Column("pseudo_path", sa.String(length=64), nullable=False),
        sa.Column("on_spot_discontinue", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("is_permanently_deleted", sa.Boolean(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_volumes_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volumes")),
        sa.UniqueConstraint("pseudo_path", name=op.f("uq_volumes_pseudo_path")),
    )
    with op.batch_alter_table("volumes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_volumes_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_volumes_project_id"), ["project_id"], unique=False)

    op.create_table(
        "instances",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("instance_type", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=False),
        sa.Column("image", sa.String(length=128), nullable=False),
        sa.Column("os_name", sa.String(length=128), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("jupyter_token", sa.String(length=64), nullable=False),
        sa.Column("is_spot", sa.Boolean(), nullable=False),
        sa.Column("contract", sa.String(length=32), nullable=False),
        sa.Column("pricing", sa.String(length=32), nullable=False),
        sa.Column("price_per_hour", sa.Numeric(precision=12, scale=4), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("coupon", sa.String(length=128), nullable=True),
        sa.Column("startup_script_id", sa.String(length=36), nullable=True),
        sa.Column("os_volume_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["os_volume_id"],
            ["volumes.id"],
            name=op.f("fk_instances_os_volume_id_volumes"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_instances_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["startup_script_id"],
            ["startup_scripts.id"],
            name=op.f("fk_instances_startup_script_id_startup_scripts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instances")),
        sa.UniqueConstraint("location", "ip", name="uq_instances_location_ip"),
    )
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_instances_deleted_at"), ["deleted_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_instances_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_instances_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_instances_status"), ["status"], unique=False)

    op.create_table(
        "volume_ssh_keys",
        sa.Column("volume_id", sa.String(length=36), nullable=False),
        sa.Column("ssh_key_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["ssh_key_id"],
            ["ssh_keys.id"],
            name=op.f("fk_volume_ssh_keys_ssh_key_id_ssh_keys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["volume_id"],
            ["volumes.id"],
            name=op.f("fk_volume_ssh_keys_volume_id_volumes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("volume_id", "ssh_key_id", name=op.f("pk_volume_ssh_keys")),
    )
    op.create_table(
        "instance_ssh_keys",
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("ssh_key_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
            name=op.f("fk_instance_ssh_keys_instance_id_instances"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ssh_key_id"],
            ["ssh_keys.id"],
            name=op.f("fk_instance_ssh_keys_ssh_key_id_ssh_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("instance_id", "ssh_key_id", name=op.f("pk_instance_ssh_keys")),
    )
    op.create_table(
        "volume_attachments",
        sa.Column("volume_id", sa.String(length=36), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
            name=op.f("fk_volume_attachments_instance_id_instances"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["volume_id"],
            ["volumes.id"],
            name=op.f("fk_volume_attachments_volume_id_volumes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("volume_id", "instance_id", name=op.f("pk_volume_attachments")),
    )
    with op.batch_alter_table("volume_attachments", schema=None) as batch_op:
        batch_op.create_index("ix_volume_attachments_instance_id", ["instance_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("volume_attachments", schema=None) as batch_op:
        batch_op.drop_index("ix_volume_attachments_instance_id")

    op.drop_table("volume_attachments")
    op.drop_table("instance_ssh_keys")
    op.drop_table("volume_ssh_keys")
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_instances_status"))
        batch_op.drop_index(batch_op.f("ix_instances_project_id"))
        batch_op.drop_index(batch_op.f("ix_instances_due_at"))
        batch_op.drop_index(batch_op.f("ix_instances_deleted_at"))

    op.drop_table("instances")
    with op.batch_alter_table("volumes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_volumes_project_id"))
        batch_op.drop_index(batch_op.f("ix_volumes_due_at"))

    op.drop_table("volumes")
