"""per-file delivery claims and internal checksums

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05

``request_files.claimed_by`` / ``claim_expires_at``: who is sending a file now
and until when its lease runs (distribution/orders/claims.py).

``granule_files.internal_checksum_*``: a checksum Ardis computed itself from the
archived bytes, verified before every delivery whether or not the DN shows a
checksum. Rows archived before this revision: where the stored checksum was
computed by Ardis (origin ``ARDIS`` or ``PROVIDER (verified)``) it becomes the
internal one here, without reading any file; the others (``.met`` files,
``--checksum none``, a provider's unverified value) get theirs at their first
verification before a delivery (origin ``first verification``), which can only
catch corruption from then on.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('request_files', sa.Column('claimed_by', sa.String(length=255), nullable=True))
    op.add_column('request_files', sa.Column('claim_expires_at', sa.DateTime(), nullable=True))
    op.add_column('granule_files', sa.Column('internal_checksum_type', sa.String(length=16), nullable=True))
    op.add_column('granule_files', sa.Column('internal_checksum_value', sa.String(length=255), nullable=True))
    op.add_column('granule_files', sa.Column('internal_checksum_origin', sa.String(length=32), nullable=True))
    op.execute(
        "UPDATE granule_files SET internal_checksum_type = checksum_type,"
        " internal_checksum_value = checksum_value, internal_checksum_origin = 'archive'"
        " WHERE checksum_type IS NOT NULL AND checksum_value IS NOT NULL"
        " AND checksum_origin IN ('ARDIS', 'PROVIDER (verified)')"
    )


def downgrade() -> None:
    with op.batch_alter_table('granule_files') as batch:
        batch.drop_column('internal_checksum_origin')
        batch.drop_column('internal_checksum_value')
        batch.drop_column('internal_checksum_type')
    with op.batch_alter_table('request_files') as batch:
        batch.drop_column('claim_expires_at')
        batch.drop_column('claimed_by')
