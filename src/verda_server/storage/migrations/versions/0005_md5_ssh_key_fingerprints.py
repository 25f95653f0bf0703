"""SSH key fingerprints in MD5 (what the API shows), NULL where the key does not decode

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import base64
import binascii
import hashlib
from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_keys = sa.table(
    "ssh_keys",
    sa.column("id", sa.String()),
    sa.column("key", sa.Text()),
    sa.column("fingerprint", sa.String()),
)


def _blob(line: str) -> bytes | None:
    fields = line.split()
    try:
        return base64.b64decode(fields[1], validate=True) if len(fields) >= 2 else None
    except (binascii.Error, ValueError):
        return None


def _md5(blob: bytes) -> str:
    return hashlib.md5(blob, usedforsecurity=False).digest().hex(":")


def _sha256(blob: bytes) -> str:
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def _recompute(digest: Callable[[bytes], str], fallback: str | None) -> None:
    connection = op.get_bind()
    for key_id, line in connection.execute(sa.select(_keys.c.id, _keys.c.key)).all():
        blob = _blob(line)
        connection.execute(
            _keys.update()
            .where(_keys.c.id == key_id)
            .values(fingerprint=digest(blob) if blob else fallback)
        )


def upgrade() -> None:
    with op.batch_alter_table("ssh_keys", schema=None) as batch_op:
        batch_op.alter_column("fingerprint", existing_type=sa.String(length=128), nullable=True)
    _recompute(_md5, None)


def downgrade() -> None:
    _recompute(_sha256, "")
    with op.batch_alter_table("ssh_keys", schema=None) as batch_op:
        batch_op.alter_column("fingerprint", existing_type=sa.String(length=128), nullable=False)
