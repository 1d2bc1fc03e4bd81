"""exclusions: after-the-fact exclusions of an incident or an asset's span, each with who asked, who approved
and why (issue 18 item 2); the evidence they take out of a figure is not rewritten. incidents gain
`response_recorded_ts` and `response_evidence`: a response recorded after the fault healed (issue 18 item 3).
NULL for incidents stored before: their acknowledgement was recorded live.

Revision ID: 0020
Revises: 0019
"""
import sqlalchemy as sa
from alembic import op

import opsmon.collector.store.types

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    ms = opsmon.collector.store.types.UTCMillis
    op.create_table(
        'exclusions',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('incident_id', sa.String(length=128), nullable=True),
        sa.Column('asset_id', sa.String(length=128), nullable=True),
        sa.Column('start_ts', ms(), nullable=True),
        sa.Column('end_ts', ms(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('requested_by', sa.String(length=128), nullable=False),
        sa.Column('requested_at', ms(), nullable=False),
        sa.Column('approved_by', sa.String(length=128), nullable=True),
        sa.Column('approved_at', ms(), nullable=True),
        sa.Column('removed_by', sa.String(length=128), nullable=True),
        sa.Column('removed_at', ms(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_exclusions_incident_id', 'exclusions', ['incident_id'])
    op.create_index('ix_exclusions_asset_id', 'exclusions', ['asset_id'])
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('response_recorded_ts', ms(), nullable=True))
        batch_op.add_column(sa.Column('response_evidence', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_column('response_evidence')
        batch_op.drop_column('response_recorded_ts')
    op.drop_index('ix_exclusions_asset_id', table_name='exclusions')
    op.drop_index('ix_exclusions_incident_id', table_name='exclusions')
    op.drop_table('exclusions')
