"""data rights: subscription firings withheld until the subscriber may have the granule; an operator's order waives
rights; one order per form token

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

_PORTAL = "source LIKE 'portal:%'"


def upgrade() -> None:
    op.create_table('subscription_withheld',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('granule_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('withheld_at', sa.DateTime(), nullable=False),
    sa.Column('settled_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['granule_events.id'], ),
    sa.ForeignKeyConstraint(['granule_id'], ['granules.id'], ),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('subscription_id', 'granule_id', name='uq_subscription_withheld')
    )
    with op.batch_alter_table('subscription_withheld', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscription_withheld_granule_id'), ['granule_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscription_withheld_settled_at'), ['settled_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscription_withheld_subscription_id'), ['subscription_id'],
                              unique=False)
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rights_waived', sa.Boolean(), server_default=sa.false(), nullable=False))
    # A form posted twice before this revision made two orders: the later ones keep their order, not the token.
    op.execute(sa.text(
        "UPDATE orders SET source = 'portal' WHERE " + _PORTAL + " AND id NOT IN "
        "(SELECT keep FROM (SELECT MIN(id) AS keep FROM orders WHERE " + _PORTAL
        + " GROUP BY user_id, source) AS firsts)"))
    op.create_index('uq_order_portal_token', 'orders', ['user_id', 'source'], unique=True,
                    sqlite_where=sa.text(_PORTAL), postgresql_where=sa.text(_PORTAL))


def downgrade() -> None:
    op.drop_index('uq_order_portal_token', table_name='orders')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('rights_waived')
    with op.batch_alter_table('subscription_withheld', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscription_withheld_subscription_id'))
        batch_op.drop_index(batch_op.f('ix_subscription_withheld_settled_at'))
        batch_op.drop_index(batch_op.f('ix_subscription_withheld_granule_id'))
    op.drop_table('subscription_withheld')
