"""incidents and target values

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 00:31:01.043471
"""
import sqlalchemy as sa
from alembic import op

import opsmon.collector.store.types

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('incidents',
    sa.Column('id', sa.String(length=128), nullable=False),
    sa.Column('asset_id', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=True),
    sa.Column('opened_ts', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.Column('acknowledged_ts', opsmon.collector.store.types.UTCMillis(), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=128), nullable=True),
    sa.Column('resolved_ts', opsmon.collector.store.types.UTCMillis(), nullable=True),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incidents_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_incidents_opened_ts'), ['opened_ts'], unique=False)

    op.create_table('target_values',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('target_id', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('period_start', opsmon.collector.store.types.UTCMillis(), nullable=True),
    sa.Column('period_end', opsmon.collector.store.types.UTCMillis(), nullable=True),
    sa.Column('ts', opsmon.collector.store.types.UTCMillis(), nullable=True),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('entered_by', sa.String(length=128), nullable=False),
    sa.Column('entered_at', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('target_values', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_target_values_target_id'), ['target_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('target_values', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_target_values_target_id'))

    op.drop_table('target_values')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incidents_opened_ts'))
        batch_op.drop_index(batch_op.f('ix_incidents_asset_id'))

    op.drop_table('incidents')
