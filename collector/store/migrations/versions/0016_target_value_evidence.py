"""target_values: `evidence` (a file path or a URL) and `evidence_sha256` (the file's SHA-256 when it
was entered; empty for a URL) behind a value entered by hand (issue 19 item 10: the publication rate
and any other manual row carry their evidence and who entered it). NULL for values stored before:
the report shows them as entered without evidence.

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('target_values', schema=None) as batch_op:
        batch_op.add_column(sa.Column('evidence', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('evidence_sha256', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('target_values', schema=None) as batch_op:
        batch_op.drop_column('evidence_sha256')
        batch_op.drop_column('evidence')
