"""report_files: generated SLA reports with their checksums

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

import opsmon.collector.store.types

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('report_files',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('period', sa.String(length=32), nullable=False),
    sa.Column('lang', sa.String(length=8), nullable=False),
    sa.Column('format', sa.String(length=8), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('created_ts', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_report_files_period', 'report_files', ['period', 'lang', 'format'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_report_files_period', table_name='report_files')
    op.drop_table('report_files')
