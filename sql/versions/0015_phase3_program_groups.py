"""Issue 17: the PI and the current CoIs of every Phase 3 program join its data-rights group (phase3:<program>)

From now on programs.py keeps users.groups in step (program creation, CoI grant
and revoke); this gives the members of programs made before that their group, so
they may order their archived, unpublished files. No schema change. Downgrade
leaves the groups: the earlier code reads them the same way.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

_MEMBERS = sa.text(
    "SELECT p.code, p.pi_id FROM phase3_programs p "
    "UNION SELECT p.code, g.user_id FROM phase3_grants g JOIN phase3_programs p ON p.id = g.program_id "
    "WHERE g.revoked_at IS NULL")


def upgrade() -> None:
    bind = op.get_bind()
    wanted: dict[int, set[str]] = {}
    for code, user_id in bind.execute(_MEMBERS):
        wanted.setdefault(int(user_id), set()).add(f"phase3:{code}")
    for user_id, groups in sorted(wanted.items()):
        text = bind.execute(sa.text("SELECT groups FROM users WHERE id = :id"), {"id": user_id}).scalar() or ""
        have = {g for g in text.replace(",", " ").split() if g}
        joined = ",".join(sorted(have | groups))
        if joined != text and len(joined) <= 255:  # the column's size; such a user keeps the groups they had
            bind.execute(sa.text("UPDATE users SET groups = :groups WHERE id = :id"), {"groups": joined, "id": user_id})


def downgrade() -> None:
    pass
