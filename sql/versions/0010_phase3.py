"""ESO Phase 3 (seed 000): programs, CoI grants, collections, releases, their history and archived files

Revision ID: 0010
Revises: 0009_icd_metadata
Create Date: 2026-12-07
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009_icd_metadata'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('phase3_programs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('pi_id', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['pi_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_table('phase3_collections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('esdt', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['program_id'], ['phase3_programs.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('program_id', 'name')
    )
    with op.batch_alter_table('phase3_collections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_phase3_collections_program_id'), ['program_id'], unique=False)

    op.create_table('phase3_grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('granted_by', sa.String(length=64), nullable=False),
    sa.Column('granted_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_by', sa.String(length=64), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['program_id'], ['phase3_programs.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('phase3_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_phase3_grants_program_id'), ['program_id'], unique=False)

    op.create_table('phase3_releases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('collection_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('mode', sa.String(length=8), nullable=False),
    sa.Column('state', sa.Enum('Open', 'Closed', 'Valid', 'Error', 'ToBeArchived', 'Archived', 'Published', name='releasestate', native_enum=False, length=16), nullable=False),
    sa.Column('release_date', sa.Date(), nullable=True),
    sa.Column('error_report', sa.Text(), nullable=True),
    sa.Column('airflow_run_id', sa.String(length=250), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['collection_id'], ['phase3_collections.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('collection_id', 'name')
    )
    with op.batch_alter_table('phase3_releases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_phase3_releases_collection_id'), ['collection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_phase3_releases_state'), ['state'], unique=False)

    op.create_table('phase3_release_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('from_state', sa.Enum('Open', 'Closed', 'Valid', 'Error', 'ToBeArchived', 'Archived', 'Published', name='releasestate', native_enum=False, length=16), nullable=True),
    sa.Column('to_state', sa.Enum('Open', 'Closed', 'Valid', 'Error', 'ToBeArchived', 'Archived', 'Published', name='releasestate', native_enum=False, length=16), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['release_id'], ['phase3_releases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('phase3_release_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_phase3_release_events_release_id'), ['release_id'], unique=False)

    op.create_table('phase3_release_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('collection_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('science_name', sa.String(length=255), nullable=True),
    sa.Column('granule_id', sa.Integer(), nullable=False),
    sa.Column('granule_file_id', sa.Integer(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('checksum', sa.String(length=300), nullable=False),
    sa.Column('superseded_by', sa.Integer(), nullable=True),
    sa.Column('superseded_how', sa.String(length=8), nullable=True),
    sa.ForeignKeyConstraint(['collection_id'], ['phase3_collections.id'], ),
    sa.ForeignKeyConstraint(['granule_file_id'], ['granule_files.id'], ),
    sa.ForeignKeyConstraint(['granule_id'], ['granules.id'], ),
    sa.ForeignKeyConstraint(['release_id'], ['phase3_releases.id'], ),
    sa.ForeignKeyConstraint(['superseded_by'], ['phase3_releases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('phase3_release_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_phase3_release_files_collection_id'), ['collection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_phase3_release_files_release_id'), ['release_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('phase3_release_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_phase3_release_files_release_id'))
        batch_op.drop_index(batch_op.f('ix_phase3_release_files_collection_id'))

    op.drop_table('phase3_release_files')
    with op.batch_alter_table('phase3_release_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_phase3_release_events_release_id'))

    op.drop_table('phase3_release_events')
    with op.batch_alter_table('phase3_releases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_phase3_releases_state'))
        batch_op.drop_index(batch_op.f('ix_phase3_releases_collection_id'))

    op.drop_table('phase3_releases')
    with op.batch_alter_table('phase3_grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_phase3_grants_program_id'))

    op.drop_table('phase3_grants')
    with op.batch_alter_table('phase3_collections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_phase3_collections_program_id'))

    op.drop_table('phase3_collections')
    op.drop_table('phase3_programs')
