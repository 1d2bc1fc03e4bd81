"""hj212_frames.raw without the password: the PW field of every stored frame becomes `******` (issue 17).

The audit copy of each accepted HJ 212 frame kept the unit's password in clear; the receiver now stores it
masked (inputs/hj212/packet.py `masked`), and this masks the rows stored before. The same rule as `masked`,
copied here on purpose: a migration is a snapshot and must give the same result when the codec changes later.
The length field is rewritten to the masked segment's (the split parts are still read back as frames at
start); the CRC is left as sent and no longer matches: `crc` keeps the status found on receipt.

On SQLite `secure_delete` is on while it runs, so the old bytes of a rewritten row are zeroed, not left in a
free page of the file; PostgreSQL keeps the old row versions until VACUUM (docs/hj212.md says so).

Revision ID: 0023
Revises: 0022
"""
import re

import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

MASK = b"******"
PW_FIELD = re.compile(rb"(^|[;,])(\s*pw\s*=)[^;,]*", re.IGNORECASE)
CHUNK = 1000


def _masked(raw: bytes) -> bytes:
    if not raw.startswith(b"##") or len(raw) < 10 or not raw[2:6].isdigit():
        return raw
    segment, crc = raw[6:-4], raw[-4:]
    cp = segment.find(b"CP=&&")
    head = segment if cp < 0 else segment[:cp]
    new = PW_FIELD.sub(lambda m: m[1] + m[2] + MASK, head)
    if len(new) - len(head) + len(segment) > 9999:
        new = PW_FIELD.sub(lambda m: m[1] + m[2] + b"*" * (len(m[0]) - len(m[1]) - len(m[2])), head)
    if new == head:
        return raw
    segment = new + segment[len(head):]
    return b"##%04d" % len(segment) + segment + crc


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA secure_delete=ON")
    frames = sa.table('hj212_frames', sa.column('id', sa.BigInteger()), sa.column('raw', sa.LargeBinary()))
    last = 0
    while True:
        rows = conn.execute(sa.select(frames.c.id, frames.c.raw).where(frames.c.id > last)
                            .order_by(frames.c.id).limit(CHUNK)).all()
        if not rows:
            break
        changed = [{"row": row_id, "new": new} for row_id, raw in rows if (new := _masked(bytes(raw))) != bytes(raw)]
        if changed:  # one executemany a chunk, not a statement a row
            conn.execute(sa.update(frames).where(frames.c.id == sa.bindparam("row")).values(raw=sa.bindparam("new")),
                         changed)
        last = rows[-1][0]


def downgrade() -> None:
    pass  # the passwords are gone: nothing to put back
