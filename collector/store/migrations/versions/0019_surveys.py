"""survey_invitations and survey_answers: the satisfaction survey (issue 19, item 10). An invitation is one
contact's signed link for one period (its nonce, whether the mail went); an answer is unique per period and
contact (a second one is refused).

Revision ID: 0019
Revises: 0018
"""
import sqlalchemy as sa
from alembic import op

import opsmon.collector.store.types

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('survey_invitations',
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('period', sa.String(length=160), nullable=False),
    sa.Column('period_start', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.Column('period_end', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.Column('department', sa.String(length=128), nullable=False),
    sa.Column('contact', sa.String(length=128), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('sent_ts', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.Column('expires_ts', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.Column('delivered', sa.Boolean(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('nonce')
    )
    op.create_index('ix_survey_invitations_period', 'survey_invitations', ['period_start', 'period_end'],
                    unique=False)
    op.create_table('survey_answers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('period', sa.String(length=160), nullable=False),
    sa.Column('period_start', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.Column('period_end', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.Column('department', sa.String(length=128), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('score', sa.String(length=16), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('answered_ts', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('period', 'email', name='uq_survey_answers_period_email')
    )
    op.create_index('ix_survey_answers_period', 'survey_answers', ['period_start', 'period_end'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_survey_answers_period', table_name='survey_answers')
    op.drop_table('survey_answers')
    op.drop_index('ix_survey_invitations_period', table_name='survey_invitations')
    op.drop_table('survey_invitations')
