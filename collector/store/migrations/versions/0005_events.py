"""events: SNMP traps and other things devices report on their own

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

import opsmon.collector.store.types

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('ts', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.Column('asset_id', sa.String(length=128), nullable=True),
    sa.Column('source', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_events_asset_ts', 'events', ['asset_id', 'ts'], unique=False)
    op.create_index('ix_events_ts', 'events', ['ts'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_events_ts', table_name='events')
    op.drop_index('ix_events_asset_ts', table_name='events')
    op.drop_table('events')
