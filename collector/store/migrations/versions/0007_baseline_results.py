"""baseline results: the latest result of each security baseline check per host

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

import opsmon.collector.store.types

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('baseline_results',
    sa.Column('asset_id', sa.String(length=128), nullable=False),
    sa.Column('check_id', sa.String(length=64), nullable=False),
    sa.Column('policy', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('ran_at', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.Column('since', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.PrimaryKeyConstraint('asset_id', 'check_id')
    )


def downgrade() -> None:
    op.drop_table('baseline_results')
