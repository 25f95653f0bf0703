"""Deploy indexes: the lowest free address of a pool and the units held of one
(location, type, spot) found by index, never by reading a location's or the
store's instances

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-28

`ip_number` is the address as an integer (text sorts 100.64.0.10 before
100.64.0.9), kept by the models beside `ip`; filled here for the rows there are.
"""

from ipaddress import IPv4Address

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

ADDRESSED = ("instances", "clusters")
BATCH = 10_000


def _fill(table_name: str) -> None:
    bind = op.get_bind()
    table = sa.table(
        table_name,
        sa.column("id", sa.String),
        sa.column("ip", sa.String),
        sa.column("ip_number", sa.BigInteger),
    )
    rows = bind.execute(sa.select(table.c.id, table.c.ip).where(table.c.ip.is_not(None))).all()
    update = (
        table.update()
        .where(table.c.id == sa.bindparam("row_id"))
        .values(ip_number=sa.bindparam("number"))
    )
    for start in range(0, len(rows), BATCH):
        bind.execute(
            update,
            [
                {"row_id": row_id, "number": int(IPv4Address(ip))}
                for row_id, ip in rows[start : start + BATCH]
            ],
        )


def upgrade() -> None:
    for table in ADDRESSED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("ip_number", sa.BigInteger(), nullable=True))
        _fill(table)
        op.create_index(
            f"ix_{table}_location_ip_number", table, ["location", "ip_number"], unique=True
        )
    op.create_index(
        "ix_instances_capacity",
        "instances",
        ["location", "instance_type", "is_spot", "deleted_at", "status"],
    )


def downgrade() -> None:
    op.drop_index("ix_instances_capacity", table_name="instances")
    for table in ADDRESSED:
        op.drop_index(f"ix_{table}_location_ip_number", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("ip_number")
