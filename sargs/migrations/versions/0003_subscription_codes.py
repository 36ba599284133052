"""subscription codes: one-time SMS codes of resident subscriptions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import sargs.db

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('subscription_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=16), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('choices', sa.JSON(), nullable=False),
    sa.Column('created_at', sargs.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sargs.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('used_at', sargs.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription_code'))
    )
    op.create_index('ix_subscription_code_phone_created', 'subscription_code',
                    ['phone', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_subscription_code_phone_created', table_name='subscription_code')
    op.drop_table('subscription_code')
