"""Issue 16 item 5: a subscription asks for the browse, QA and production-history granules linked to each
science granule it fires for (subscriptions.linked, as requests.linked); item 7: one bundle per request
(requests.bundle_per: granule | request)

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-07
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('linked', sa.String(length=32), nullable=False, server_default=''))
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bundle_per', sa.String(length=8), nullable=False, server_default='granule'))


def downgrade() -> None:
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.drop_column('bundle_per')
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_column('linked')
