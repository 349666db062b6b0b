"""Issue 13: the portal's box search and its size sort under 300 ms on 1,000,000 granules —
granules.total_size (the sum of the files' sizes, filled from granule_files) with B-tree indexes for the sort,
and a GiST index on the granule's box (PostgreSQL; SQLite keeps the plain comparisons)

Revision ID: 0018
Revises: 0015
Create Date: 2026-12-08
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0015'
branch_labels = None
depends_on = None

# Written as PostgreSQL pretty-prints it back (line breaks included), so alembic's comparison finds it unchanged.
GRANULE_BOX_SQL = ("box(point(west, south), point(\nCASE\n    WHEN west > east THEN east + 360::double precision\n"
                   "    ELSE east\nEND, north))")


def upgrade() -> None:
    with op.batch_alter_table('granules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('total_size', sa.BigInteger(), nullable=False, server_default='0'))
    op.execute("UPDATE granules SET total_size = (SELECT coalesce(sum(size), 0) FROM granule_files "
               "WHERE granule_files.granule_id = granules.id)")
    with op.batch_alter_table('granules', schema=None) as batch_op:
        batch_op.create_index('ix_granules_size', ['total_size', 'id'], unique=False)
        batch_op.create_index('ix_granules_collection_size', ['collection_id', 'total_size', 'id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.create_index('ix_granules_box', 'granules', [sa.text(GRANULE_BOX_SQL)], postgresql_using='gist')
        op.drop_index('ix_granules_height', table_name='granules')  # served catalog._north_of_tallest, now gone


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_granules_box', table_name='granules')
        op.create_index('ix_granules_height', 'granules', [sa.text('(north - south)')])
    with op.batch_alter_table('granules', schema=None) as batch_op:
        batch_op.drop_index('ix_granules_collection_size')
        batch_op.drop_index('ix_granules_size')
        batch_op.drop_column('total_size')
