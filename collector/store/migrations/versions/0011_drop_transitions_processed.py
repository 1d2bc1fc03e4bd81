"""transitions: drop `processed` and its partial index. Incidents hear each transition from the routing
table as the timeline makes it (in-process, before the row is written); nothing ever read the column.

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('transitions', schema=None) as batch_op:
        batch_op.drop_index('ix_transitions_unprocessed', sqlite_where=sa.text('processed = 0'),
                            postgresql_where=sa.text('processed = false'))
        batch_op.drop_column('processed')


def downgrade() -> None:
    with op.batch_alter_table('transitions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('processed', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.create_index('ix_transitions_unprocessed', ['id'], unique=False,
                              sqlite_where=sa.text('processed = 0'), postgresql_where=sa.text('processed = false'))
