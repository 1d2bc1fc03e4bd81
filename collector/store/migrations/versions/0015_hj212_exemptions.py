"""hj212_exemptions: hours an operator took out of the HJ 212 assessment, with reason and proof (issue 17).

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

import opsmon.collector.store.types

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'hj212_exemptions',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('asset_id', sa.String(length=128), nullable=False),
        sa.Column('point', sa.String(length=64), nullable=True),
        sa.Column('factor', sa.String(length=64), nullable=True),
        sa.Column('start_ts', opsmon.collector.store.types.UTCMillis(), nullable=False),
        sa.Column('end_ts', opsmon.collector.store.types.UTCMillis(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('proof', sa.Text(), nullable=False),
        sa.Column('entered_by', sa.String(length=128), nullable=False),
        sa.Column('entered_at', opsmon.collector.store.types.UTCMillis(), nullable=False),
        sa.Column('removed_by', sa.String(length=128), nullable=True),
        sa.Column('removed_at', opsmon.collector.store.types.UTCMillis(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('hj212_exemptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hj212_exemptions_asset_id'), ['asset_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('hj212_exemptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hj212_exemptions_asset_id'))
    op.drop_table('hj212_exemptions')
