"""agent_streams: `max_ts_ms`, the highest agent timestamp accepted on a stream. With it a report whose
sequence number is at or below the stream's maximum but whose timestamp is newer is told apart from a
replay (a stream that went back: issue 16 item 6); see inputs/agents/streams.py. NULL for streams
stored before: they follow the old rule until their next accepted report.

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('agent_streams', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_ts_ms', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('agent_streams', schema=None) as batch_op:
        batch_op.drop_column('max_ts_ms')
