"""An asset's life (issue 19): `assets.joined_at`, when it joined the estate as the system opsmon replaces
says (an imported `joined` line), NULL for assets stored before (their life starts at their creation or
first interval, as before); `asset_absences`, the spans an asset was removed and then restored (the
open removal stays `assets.removed_at`). None exist yet: restores before this revision kept no span.

Revision ID: 0021
Revises: 0020
"""
import sqlalchemy as sa
from alembic import op

import opsmon.collector.store.types

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('joined_at', opsmon.collector.store.types.UTCMillis(), nullable=True))
    op.create_table(
        'asset_absences',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('asset_id', sa.String(length=128), nullable=False),
        sa.Column('start_ts', opsmon.collector.store.types.UTCMillis(), nullable=False),
        sa.Column('end_ts', opsmon.collector.store.types.UTCMillis(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    with op.batch_alter_table('asset_absences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_asset_absences_asset_id'), ['asset_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('asset_absences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_asset_absences_asset_id'))
    op.drop_table('asset_absences')
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.drop_column('joined_at')
