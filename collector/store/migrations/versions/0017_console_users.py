"""console_users, console_sessions, console_login_failures: the web console's local accounts (argon2id
hashes, a role as API tokens have, the language each person reads in), its sessions (the SHA-256 of the
cookie and the CSRF token of its forms) and failed logins by the name typed (the lockout counts them).

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op

import opsmon.collector.store.types

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('console_users',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('lang', sa.String(length=8), nullable=False),
    sa.Column('created_at', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('console_sessions',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', ID, nullable=False),
    sa.Column('csrf', sa.String(length=64), nullable=False),
    sa.Column('created_at', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.Column('expires_at', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.PrimaryKeyConstraint('id_hash')
    )
    op.create_index('ix_console_sessions_user_id', 'console_sessions', ['user_id'], unique=False)
    op.create_table('console_login_failures',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('ts', opsmon.collector.store.types.UTCMillis(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_console_login_failures_name', 'console_login_failures', ['name'], unique=False)
    op.create_index('ix_console_login_failures_ts', 'console_login_failures', ['ts'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_console_login_failures_ts', table_name='console_login_failures')
    op.drop_index('ix_console_login_failures_name', table_name='console_login_failures')
    op.drop_table('console_login_failures')
    op.drop_index('ix_console_sessions_user_id', table_name='console_sessions')
    op.drop_table('console_sessions')
    op.drop_table('console_users')
