"""acknowledgements, escalation, inbound messages, e-mail confirmations, bot chats

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 20:10:14.556227
"""

import sqlalchemy as sa
from alembic import op

import sargs.db

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('email_confirmation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('choices', sa.JSON(), nullable=False),
    sa.Column('created_at', sargs.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sargs.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', sargs.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_confirmation')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_email_confirmation_token_hash'))
    )
    with op.batch_alter_table('email_confirmation', schema=None) as batch_op:
        batch_op.create_index('ix_email_confirmation_email_created', ['email', 'created_at'], unique=False)

    op.create_table('telegram_chat',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.String(length=32), nullable=False),
    sa.Column('step', sa.String(length=16), nullable=False),
    sa.Column('choices', sa.JSON(), nullable=False),
    sa.Column('updated_at', sargs.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_telegram_chat')),
    sa.UniqueConstraint('chat_id', name=op.f('uq_telegram_chat_chat_id'))
    )
    op.create_table('escalation_step',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('due_at', sargs.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('tried_at', sargs.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alert.id'], name=op.f('fk_escalation_step_alert_id_alert')),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_escalation_step_contact_id_contact'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalation_step')),
    sa.UniqueConstraint('alert_id', 'round', 'position', name=op.f('uq_escalation_step_alert_id'))
    )
    with op.batch_alter_table('escalation_step', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escalation_step_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index('ix_escalation_step_due', ['state', 'due_at'], unique=False)

    op.create_table('inbound_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=254), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('received_at', sargs.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('handled_at', sargs.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('handled_by_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alert.id'], name=op.f('fk_inbound_message_alert_id_alert')),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_inbound_message_contact_id_contact'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['handled_by_id'], ['user_account.id'], name=op.f('fk_inbound_message_handled_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_message'))
    )
    with op.batch_alter_table('inbound_message', schema=None) as batch_op:
        batch_op.create_index('ix_inbound_message_open', ['outcome', 'handled_at'], unique=False)

    op.create_table('acknowledgement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('delivery_id', sa.Integer(), nullable=True),
    sa.Column('via', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('at', sargs.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alert.id'], name=op.f('fk_acknowledgement_alert_id_alert')),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_acknowledgement_contact_id_contact'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['delivery_id'], ['delivery.id'], name=op.f('fk_acknowledgement_delivery_id_delivery')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_acknowledgement_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_acknowledgement')),
    sa.UniqueConstraint('alert_id', 'contact_id', name=op.f('uq_acknowledgement_alert_id'))
    )
    with op.batch_alter_table('acknowledgement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_acknowledgement_alert_id'), ['alert_id'], unique=False)

    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ack_required', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('escalation', sa.JSON(), nullable=True))

    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('round', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.drop_constraint(batch_op.f('uq_delivery_alert_id'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_delivery_alert_id'), ['alert_id', 'channel', 'address', 'round'])



def downgrade() -> None:
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_delivery_alert_id'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_delivery_alert_id'), ['alert_id', 'channel', 'address'])
        batch_op.drop_column('round')

    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_column('escalation')
        batch_op.drop_column('ack_required')

    with op.batch_alter_table('acknowledgement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_acknowledgement_alert_id'))

    op.drop_table('acknowledgement')
    with op.batch_alter_table('inbound_message', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_message_open')

    op.drop_table('inbound_message')
    with op.batch_alter_table('escalation_step', schema=None) as batch_op:
        batch_op.drop_index('ix_escalation_step_due')
        batch_op.drop_index(batch_op.f('ix_escalation_step_alert_id'))

    op.drop_table('escalation_step')
    op.drop_table('telegram_chat')
    with op.batch_alter_table('email_confirmation', schema=None) as batch_op:
        batch_op.drop_index('ix_email_confirmation_email_created')

    op.drop_table('email_confirmation')
