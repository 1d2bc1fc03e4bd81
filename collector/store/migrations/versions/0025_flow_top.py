"""flow_top: the closed flow intervals of each link (issue 23 item 5): the top (src, dst, dst port, protocol) by
bytes and one `other` row per link and interval, no flow itself.

Revision ID: 0025
Revises: 0024
"""
import sqlalchemy as sa
from alembic import op

import opsmon.collector.store.types

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('flow_top',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('link', sa.String(length=128), nullable=False),
    sa.Column('start_ts', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.Column('end_ts', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.Column('src', sa.String(length=45), nullable=False),
    sa.Column('dst', sa.String(length=45), nullable=False),
    sa.Column('dst_port', sa.Integer(), nullable=False),
    sa.Column('protocol', sa.Integer(), nullable=False),
    sa.Column('bytes', sa.BigInteger(), nullable=False),
    sa.Column('packets', sa.BigInteger(), nullable=False),
    sa.Column('flows', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('flow_top', schema=None) as batch_op:
        batch_op.create_index('ix_flow_top_link', ['link', 'start_ts'], unique=False)
        batch_op.create_index('ix_flow_top_start', ['start_ts'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('flow_top', schema=None) as batch_op:
        batch_op.drop_index('ix_flow_top_start')
        batch_op.drop_index('ix_flow_top_link')
    op.drop_table('flow_top')
