"""ELT data products: one row per data product specification id

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('data_products',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('spec_id', sa.String(length=200), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('instrument', sa.String(length=64), nullable=False),
    sa.Column('spec_text', sa.Text(), nullable=False),
    sa.Column('spec_digest', sa.String(length=64), nullable=False),
    sa.Column('origin', sa.String(length=255), nullable=False),
    sa.Column('state', sa.Enum('submitted', 'fetched', 'merged', 'archived', 'failed', name='productstate',
                               native_enum=False, length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('header_in_place', sa.Boolean(), nullable=True),
    sa.Column('granule_id', sa.Integer(), nullable=True),
    sa.Column('airflow_run_id', sa.String(length=250), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['granule_id'], ['granules.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('spec_id')
    )


def downgrade() -> None:
    op.drop_table('data_products')
