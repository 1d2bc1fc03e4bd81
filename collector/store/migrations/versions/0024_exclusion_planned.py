"""exclusions gain `planned`: an asset's past outage reclassified as planned work from the web console (issue 24
item 3, "reclassify a past outage as planned, with a reason, audited"). Every exclusion stored before is not one
(false).

Revision ID: 0024
Revises: 0023
"""
import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('exclusions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('planned', sa.Boolean(), server_default=sa.text('false'), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('exclusions', schema=None) as batch_op:
        batch_op.drop_column('planned')
