"""config_versions: stored network device configurations

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

import opsmon.collector.store.types

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('config_versions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('asset_id', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('fetched_at', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.Column('last_seen', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('raw_sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('command', sa.String(length=256), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('asset_id', 'name', 'version', name='uq_config_versions_asset_name_version')
    )
    op.create_index('ix_config_versions_sha256', 'config_versions', ['sha256'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_config_versions_sha256', table_name='config_versions')
    op.drop_table('config_versions')
