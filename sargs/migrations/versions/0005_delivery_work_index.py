"""delivery work index by channel: a worker claims one channel's due rows

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 21:20:00.000000
"""

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_work')
        batch_op.create_index('ix_delivery_work', ['state', 'channel', 'priority', 'due_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_work')
        batch_op.create_index('ix_delivery_work', ['state', 'priority', 'due_at'], unique=False)
