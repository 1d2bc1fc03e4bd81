"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-29 00:05:42.438867
"""
import sqlalchemy as sa
from alembic import op

import opsmon.collector.store.types

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_tokens',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=128), nullable=False),
    sa.Column('created_at', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.Column('revoked_at', opsmon.collector.store.types.UTCMillis(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_table('assets',
    sa.Column('id', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('site', sa.String(length=128), nullable=True),
    sa.Column('address', sa.String(length=256), nullable=True),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('criticality', sa.String(length=16), nullable=False),
    sa.Column('parent_id', sa.String(length=128), nullable=True),
    sa.Column('checks', sa.JSON(), nullable=False),
    sa.Column('created_at', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.Column('updated_at', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.Column('removed_at', opsmon.collector.store.types.UTCMillis(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assets_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_assets_site'), ['site'], unique=False)

    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('ts', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=256), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_ts'), ['ts'], unique=False)

    op.create_table('heartbeat',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ts', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.Column('started_ts', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('maintenance_windows',
    sa.Column('id', sa.String(length=128), nullable=False),
    sa.Column('spec', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.Column('removed_at', opsmon.collector.store.types.UTCMillis(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('observations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('asset_id', sa.String(length=128), nullable=False),
    sa.Column('check_id', sa.String(length=128), nullable=False),
    sa.Column('ts', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('latency_ms', sa.Float(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('observations', schema=None) as batch_op:
        batch_op.create_index('ix_observations_asset_ts', ['asset_id', 'ts'], unique=False)
        batch_op.create_index('ix_observations_ts', ['ts'], unique=False)

    op.create_table('state_intervals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('asset_id', sa.String(length=128), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('start_ts', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.Column('end_ts', opsmon.collector.store.types.UTCMillis(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('state_intervals', schema=None) as batch_op:
        batch_op.create_index('ix_intervals_asset_start', ['asset_id', 'start_ts'], unique=False)
        batch_op.create_index('ix_intervals_end', ['end_ts'], unique=False)
        batch_op.create_index('ux_intervals_one_open', ['asset_id'], unique=True, sqlite_where=sa.text('end_ts IS NULL'), postgresql_where=sa.text('end_ts IS NULL'))

    op.create_table('transitions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('asset_id', sa.String(length=128), nullable=False),
    sa.Column('at_ts', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.Column('detected_ts', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.Column('old_state', sa.String(length=16), nullable=False),
    sa.Column('new_state', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('processed', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('transitions', schema=None) as batch_op:
        batch_op.create_index('ix_transitions_asset_at', ['asset_id', 'at_ts'], unique=False)
        batch_op.create_index('ix_transitions_unprocessed', ['id'], unique=False, sqlite_where=sa.text('processed = 0'), postgresql_where=sa.text('processed = false'))



def downgrade() -> None:
    with op.batch_alter_table('transitions', schema=None) as batch_op:
        batch_op.drop_index('ix_transitions_unprocessed', sqlite_where=sa.text('processed = 0'), postgresql_where=sa.text('processed = false'))
        batch_op.drop_index('ix_transitions_asset_at')

    op.drop_table('transitions')
    with op.batch_alter_table('state_intervals', schema=None) as batch_op:
        batch_op.drop_index('ux_intervals_one_open', sqlite_where=sa.text('end_ts IS NULL'), postgresql_where=sa.text('end_ts IS NULL'))
        batch_op.drop_index('ix_intervals_end')
        batch_op.drop_index('ix_intervals_asset_start')

    op.drop_table('state_intervals')
    with op.batch_alter_table('observations', schema=None) as batch_op:
        batch_op.drop_index('ix_observations_ts')
        batch_op.drop_index('ix_observations_asset_ts')

    op.drop_table('observations')
    op.drop_table('maintenance_windows')
    op.drop_table('heartbeat')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_ts'))

    op.drop_table('audit_log')
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assets_site'))
        batch_op.drop_index(batch_op.f('ix_assets_category'))

    op.drop_table('assets')
    op.drop_table('api_tokens')
