"""On-call run without a shell (issue 18 item 5): `oncall_overrides`, overrides added and removed through
the API or CLI without a restart (removed ones are kept, marked, for the audit trail); `ack_links.used_by`,
who acknowledged with a link (a link posted into a group asks who, issue 18 item 7).

Revision ID: 0018
Revises: 0017
"""
import sqlalchemy as sa
from alembic import op

import opsmon.collector.store.types

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'oncall_overrides',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('schedule', sa.String(length=128), nullable=False),
        sa.Column('person', sa.String(length=128), nullable=False),
        sa.Column('start_ts', opsmon.collector.store.types.UTCMillis(), nullable=False),
        sa.Column('end_ts', opsmon.collector.store.types.UTCMillis(), nullable=False),
        sa.Column('reason', sa.String(length=512), nullable=False),
        sa.Column('created_by', sa.String(length=128), nullable=False),
        sa.Column('created_at', opsmon.collector.store.types.UTCMillis(), nullable=False),
        sa.Column('removed_at', opsmon.collector.store.types.UTCMillis(), nullable=True),
        sa.PrimaryKeyConstraint('id'))
    with op.batch_alter_table('ack_links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('used_by', sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('ack_links', schema=None) as batch_op:
        batch_op.drop_column('used_by')
    op.drop_table('oncall_overrides')
