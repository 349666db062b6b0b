"""Order portal: indexes for inventory search, and the users' carts

Revision ID: 0012
Revises: 0010 (on this branch; after the data rights migration 0011 lands, it revises '0011')
Create Date: 2026-12-07
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cart_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('granule_id', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['granule_id'], ['granules.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'granule_id', name='uq_cart_item')
    )
    with op.batch_alter_table('cart_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cart_items_granule_id'), ['granule_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cart_items_user_id'), ['user_id'], unique=False)
    with op.batch_alter_table('granules', schema=None) as batch_op:
        batch_op.create_index('ix_granules_inserted', ['inserted_at', 'id'], unique=False)
        batch_op.create_index('ix_granules_begin', ['begin_time', 'id'], unique=False)
        batch_op.create_index('ix_granules_end', ['end_time'], unique=False)
        batch_op.create_index('ix_granules_latitude', ['south', 'north'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':  # the longest granule, for time searches (catalog.py)
        op.create_index('ix_granules_span', 'granules', [sa.text('(coalesce(end_time, begin_time) - begin_time)')])
        op.create_index('ix_granules_height', 'granules', [sa.text('(north - south)')])
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')  # trusted: the database's owner may create it
    op.create_index('ix_granules_lgid_trgm', 'granules', ['local_granule_id'], postgresql_using='gin',
                    postgresql_ops={'local_granule_id': 'gin_trgm_ops'})  # on SQLite a plain index


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_granules_span', table_name='granules')
        op.drop_index('ix_granules_height', table_name='granules')
    op.drop_index('ix_granules_lgid_trgm', table_name='granules')
    with op.batch_alter_table('granules', schema=None) as batch_op:
        batch_op.drop_index('ix_granules_latitude')
        batch_op.drop_index('ix_granules_end')
        batch_op.drop_index('ix_granules_begin')
        batch_op.drop_index('ix_granules_inserted')
    with op.batch_alter_table('cart_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cart_items_user_id'))
        batch_op.drop_index(batch_op.f('ix_cart_items_granule_id'))
    op.drop_table('cart_items')
