"""agents

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 00:42:48.406310
"""
import sqlalchemy as sa
from alembic import op

import opsmon.collector.store.types

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agent_streams',
    sa.Column('agent', sa.String(length=128), nullable=False),
    sa.Column('stream', sa.String(length=64), nullable=False),
    sa.Column('max_seq', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.PrimaryKeyConstraint('agent', 'stream')
    )
    op.create_table('agents',
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('asset_id', sa.String(length=128), nullable=False),
    sa.Column('token_hash', sa.String(length=128), nullable=False),
    sa.Column('created_at', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.Column('revoked_at', opsmon.collector.store.types.UTCMillis(), nullable=True),
    sa.PrimaryKeyConstraint('name'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('facts', sa.JSON(), nullable=True))

    with op.batch_alter_table('observations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), server_default='check', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('observations', schema=None) as batch_op:
        batch_op.drop_column('kind')

    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.drop_column('facts')

    op.drop_table('agents')
    op.drop_table('agent_streams')
