"""Site pollers (issue 22 items 1-2): agents.role says which enrolled token is a site poller's, and
observations.observer says who ran each probe ("" the collector, else the poller's name), so the evidence
says who observed what.

Revision ID: 0027
Revises: 0026
"""
import sqlalchemy as sa
from alembic import op

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('observations') as batch:
        batch.add_column(sa.Column('observer', sa.String(length=128), server_default='', nullable=False))
    with op.batch_alter_table('agents') as batch:
        batch.add_column(sa.Column('role', sa.String(length=16), server_default='agent', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('agents') as batch:
        batch.drop_column('role')
    with op.batch_alter_table('observations') as batch:
        batch.drop_column('observer')
