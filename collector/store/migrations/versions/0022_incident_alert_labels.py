"""incidents gain `alert_labels`: the labels of the Alertmanager alert that opened the incident, so
acknowledging it silences that alert in Alertmanager too, also after a restart (issue 18 item 6). NULL for
every other incident, and for alert incidents stored before (they were kept by fingerprint only; their
acknowledgement silences opsmon's own alert, as before).

Revision ID: 0022
Revises: 0021
"""
import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('alert_labels', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_column('alert_labels')
