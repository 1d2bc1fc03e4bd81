"""The SLA engine's covering index on both databases (issue 25 item 3): state_intervals (asset_id, state,
start_ts, end_ts), named ix_intervals_sla_cover and declared in the models.

Why on PostgreSQL now (0004 left it out, measured at 1 M intervals only): at 50k assets / 5 M intervals the
per-asset, per-state sums no longer fit work_mem (4 MB): the hash aggregate spilled to disk in 9 batches and
its partial results went through an external merge sort, so the query grew 23x for 10x the data. With the
index PostgreSQL reads the sums off an index-only scan already in (asset_id, state) order, a streaming
group aggregate with nothing to sort or spill: linear in the intervals. Measured with
EXPLAIN ANALYZE on 5 M intervals (bench/sla_bench.py's estate): docs/sla.md, "How fast".

On SQLite the same index existed since 0004 as ix_intervals_sqlite_sla_cover; it is rebuilt under the
shared name (one pass over the table at upgrade) so both databases match the models.

Revision ID: 0026
Revises: 0025
"""
from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

NAME = "ix_intervals_sla_cover"
OLD_SQLITE = "ix_intervals_sqlite_sla_cover"
COLUMNS = ["asset_id", "state", "start_ts", "end_ts"]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index(OLD_SQLITE, table_name="state_intervals")
    op.create_index(NAME, "state_intervals", COLUMNS)


def downgrade() -> None:
    op.drop_index(NAME, table_name="state_intervals")
    if op.get_bind().dialect.name == "sqlite":
        op.create_index(OLD_SQLITE, "state_intervals", COLUMNS)
