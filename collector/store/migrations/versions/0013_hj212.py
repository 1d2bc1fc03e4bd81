"""hj212_data and hj212_frames: what the HJ 212 receiver stores (issue 17, item 1). hj212_data holds each
factor's values once per (mn, cn, data_time, point, factor), so a resent hour changes nothing;
hj212_frames keeps accepted frames as received for hj212.raw_retention.

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

import opsmon.collector.store.types

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('hj212_data',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('asset_id', sa.String(length=128), nullable=False),
    sa.Column('mn', sa.String(length=64), nullable=False),
    sa.Column('cn', sa.String(length=8), nullable=False),
    sa.Column('data_time', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.Column('point', sa.String(length=64), nullable=False),
    sa.Column('factor', sa.String(length=64), nullable=False),
    sa.Column('rtd', sa.String(length=64), nullable=True),
    sa.Column('avg', sa.String(length=64), nullable=True),
    sa.Column('min', sa.String(length=64), nullable=True),
    sa.Column('max', sa.String(length=64), nullable=True),
    sa.Column('cou', sa.String(length=64), nullable=True),
    sa.Column('zs_avg', sa.String(length=64), nullable=True),
    sa.Column('flag', sa.String(length=16), nullable=True),
    sa.Column('extra', sa.JSON(), nullable=True),
    sa.Column('crc', sa.String(length=16), nullable=False),
    sa.Column('received', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('mn', 'cn', 'data_time', 'point', 'factor', name='uq_hj212_data_key')
    )
    op.create_index('ix_hj212_data_asset_time', 'hj212_data', ['asset_id', 'cn', 'data_time'], unique=False)
    op.create_table('hj212_frames',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('received', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.Column('asset_id', sa.String(length=128), nullable=False),
    sa.Column('mn', sa.String(length=64), nullable=False),
    sa.Column('cn', sa.String(length=8), nullable=False),
    sa.Column('qn', sa.String(length=32), nullable=True),
    sa.Column('peer', sa.String(length=64), nullable=False),
    sa.Column('crc', sa.String(length=16), nullable=False),
    sa.Column('oversize', sa.Boolean(), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_hj212_frames_received', 'hj212_frames', ['received'], unique=False)
    op.create_index('ix_hj212_frames_mn', 'hj212_frames', ['mn', 'received'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_hj212_frames_mn', table_name='hj212_frames')
    op.drop_index('ix_hj212_frames_received', table_name='hj212_frames')
    op.drop_table('hj212_frames')
    op.drop_index('ix_hj212_data_asset_time', table_name='hj212_data')
    op.drop_table('hj212_data')
