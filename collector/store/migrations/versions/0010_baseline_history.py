"""baseline_history: every change of a baseline check's status per host, so a report of a past
period shows compliance as it stood at that period's end

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

import opsmon.collector.store.types

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('baseline_history',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('asset_id', sa.String(length=128), nullable=False),
    sa.Column('check_id', sa.String(length=64), nullable=False),
    sa.Column('policy', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('since', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_baseline_history_since', 'baseline_history', ['since'], unique=False)
    # What is already known: each latest result, from when it has held.
    op.execute("INSERT INTO baseline_history (asset_id, check_id, policy, status, since) "
               "SELECT asset_id, check_id, policy, status, since FROM baseline_results ORDER BY since")


def downgrade() -> None:
    op.drop_index('ix_baseline_history_since', table_name='baseline_history')
    op.drop_table('baseline_history')
