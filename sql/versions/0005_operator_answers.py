"""operator answers: a person's answer to a waiting step, the state of record

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('operator_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.String(length=250), nullable=False),
    sa.Column('step', sa.String(length=250), nullable=False),
    sa.Column('map_index', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.String(length=10), nullable=False),
    sa.Column('chosen_options', sa.JSON(), nullable=False),
    sa.Column('params_input', sa.JSON(), nullable=False),
    sa.Column('responded_by', sa.String(length=256), nullable=False),
    sa.Column('responded_at', sa.DateTime(), nullable=True),
    sa.Column('try_number', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('run_id', 'step', 'map_index', name='uq_operator_answer_step')
    )
    with op.batch_alter_table('operator_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_operator_answers_request_id'), ['request_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('operator_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_operator_answers_request_id'))
    op.drop_table('operator_answers')
