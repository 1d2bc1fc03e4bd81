"""incidents: one episode, one response record (issue 18). `escalate_from_ts`, the last reopen of an
unacknowledged incident, from which its escalation levels count again; `flapping_ts`, since when it is
marked flapping (quiet until it settles). NULL for incidents stored before: they escalate from their
opening and are not flapping, as before. `breached_ts`, when the deadline passed unacknowledged, recorded
once (before, only in memory: every restart recorded the breach again); filled from the first `breached`
row of each incident's trail, which keeps every row it had (evidence is not rewritten).
`maintenance_window` and `maintenance_ts`: the window that covered the incident, and since when it is
under one now.

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

import opsmon.collector.store.types

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

COLUMNS = ('escalate_from_ts', 'flapping_ts', 'breached_ts')


def upgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, opsmon.collector.store.types.UTCMillis(), nullable=True))
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('maintenance_window', sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column('maintenance_ts', opsmon.collector.store.types.UTCMillis(), nullable=True))
    op.execute("UPDATE incidents SET breached_ts = (SELECT MIN(e.ts) FROM incident_events e "
               "WHERE e.incident_id = incidents.id AND e.action = 'breached')")


def downgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_column('maintenance_ts')
        batch_op.drop_column('maintenance_window')
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
