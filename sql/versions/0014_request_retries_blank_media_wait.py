"""Issue 14: an operator retries a failed request (requests.attempt, request_retries: each attempt its own DN);
volumes.built_at: since when a built volume waits for a blank medium (operations are told when it is too long);
volumes.load_run_id / load_map_index: the step that asks for its blank medium (the console reads it, not the prompt)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempt', sa.Integer(), nullable=False, server_default='1'))
    with op.batch_alter_table('volumes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('built_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('load_run_id', sa.String(length=250), nullable=True))
        batch_op.add_column(sa.Column('load_map_index', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_volumes_load_run_id'), ['load_run_id'], unique=False)
    op.create_table(
        'request_retries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('request_pk', sa.Integer(), nullable=False),
        sa.Column('attempt', sa.Integer(), nullable=False),
        sa.Column('requested_by', sa.String(length=256), nullable=False),
        sa.Column('requested_at', sa.DateTime(), nullable=False),
        sa.Column('previous_state', sa.String(length=16), nullable=False),
        sa.Column('previous_failure', sa.Text(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['request_pk'], ['requests.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('request_pk', 'attempt', name='uq_request_retry_attempt'),
    )
    with op.batch_alter_table('request_retries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_request_retries_request_pk'), ['request_pk'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('request_retries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_request_retries_request_pk'))
    op.drop_table('request_retries')
    with op.batch_alter_table('volumes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volumes_load_run_id'))
        batch_op.drop_column('load_map_index')
        batch_op.drop_column('load_run_id')
        batch_op.drop_column('built_at')
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.drop_column('attempt')
