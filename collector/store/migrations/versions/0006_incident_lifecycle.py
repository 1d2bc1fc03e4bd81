"""incident lifecycle: status, fingerprint, cause, deadlines; the incident trail; ack links

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

import opsmon.collector.store.types

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=16), server_default='closed', nullable=False))
        batch_op.add_column(sa.Column('fingerprint', sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column('cause', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('fault_ts', opsmon.collector.store.types.UTCMillis(), nullable=True))
        batch_op.add_column(sa.Column('deadline_ts', opsmon.collector.store.types.UTCMillis(), nullable=True))
        batch_op.add_column(sa.Column('resolved_by', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('closed_ts', opsmon.collector.store.types.UTCMillis(), nullable=True))
        batch_op.add_column(sa.Column('level', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('attached', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('reopened', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_incidents_fingerprint'), ['fingerprint'], unique=False)
    op.create_table('incident_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('incident_id', sa.String(length=128), nullable=False),
    sa.Column('ts', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_incident_events_incident', 'incident_events', ['incident_id', 'id'], unique=False)
    op.create_table('ack_links',
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('incident_id', sa.String(length=128), nullable=False),
    sa.Column('person', sa.String(length=128), nullable=False),
    sa.Column('expires_ts', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.Column('used_ts', opsmon.collector.store.types.UTCMillis(), nullable=True),
    sa.PrimaryKeyConstraint('nonce')
    )


def downgrade() -> None:
    op.drop_table('ack_links')
    op.drop_index('ix_incident_events_incident', table_name='incident_events')
    op.drop_table('incident_events')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incidents_fingerprint'))
        for col in ('reopened', 'attached', 'level', 'closed_ts', 'resolved_by', 'deadline_ts', 'fault_ts', 'cause',
                    'fingerprint', 'status'):
            batch_op.drop_column(col)
