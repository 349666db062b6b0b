"""ICD 4.3.6.2/4.3.6.3: metadata format per user, the size of what Ardis wrote, a provider's compute percentage, linked granules asked, a collection's MCF, bundles

Revision ID: 0009_icd_metadata
Revises: 0008
Create Date: 2026-12-07
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0009_icd_metadata'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('metadata_format', sa.String(length=8), nullable=True))
    with op.batch_alter_table('request_files', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dist_size', sa.BigInteger(), nullable=True))
    with op.batch_alter_table('providers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('compute_percent', sa.Integer(), nullable=False, server_default='100'))
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('linked', sa.String(length=32), nullable=False, server_default=''))
    with op.batch_alter_table('collections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mcf', sa.Text(), nullable=True))
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bundle', sa.String(length=8), nullable=False, server_default=''))
    with op.batch_alter_table('request_granules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bundle', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('request_granules', schema=None) as batch_op:
        batch_op.drop_column('bundle')
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.drop_column('bundle')
    with op.batch_alter_table('collections', schema=None) as batch_op:
        batch_op.drop_column('mcf')
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.drop_column('linked')
    with op.batch_alter_table('providers', schema=None) as batch_op:
        batch_op.drop_column('compute_percent')
    with op.batch_alter_table('request_files', schema=None) as batch_op:
        batch_op.drop_column('dist_size')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('metadata_format')
