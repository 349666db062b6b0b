"""Operations told once per wait when a volume waits for a blank medium too long: a real SMTP server (aiosmtpd),
SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import email
from datetime import timedelta
from email.policy import default

from sqlalchemy import select

from devkit.peers import free_port
from distribution.config import Settings
from distribution.db import session_scope
from distribution.models import MediaType, Notice, NoticeState, Volume, VolumeState
from distribution.notices.outbox import SmtpTransport
from distribution.shipping.alerts import alert_blank_media_waits
from tests.integration.test_outbox_smtp import smtp_server
from tests.unit.shipping.test_queue import NOW, _request


def test_a_long_wait_for_a_blank_medium_is_told_once(settings: Settings) -> None:
    settings = dataclasses.replace(settings, blank_media_alert_minutes=60, operations_email="ops@example.org")
    with session_scope(settings.database_url) as session:
        _request(session, "R000000001", MediaType.DVD, [VolumeState.BUILT, VolumeState.BUILT, VolumeState.PLANNED])
        _request(session, "R000000002", MediaType.DLT, [VolumeState.BUILT]).shipped_at = NOW  # left the queue
        for volume in session.scalars(select(Volume)):
            volume.built_at = NOW - timedelta(minutes=90 if volume.number == 1 else 30)
    port = free_port()
    transport = SmtpTransport("127.0.0.1", port, timeout=5)
    with smtp_server(port) as inbox:
        assert alert_blank_media_waits(settings, lambda: transport, NOW) == ["R000000001-1"]
        assert alert_blank_media_waits(settings, lambda: transport, NOW + timedelta(minutes=10)) == []  # told
        assert alert_blank_media_waits(settings, lambda: transport, NOW + timedelta(minutes=45)) == ["R000000001-2"]
        with session_scope(settings.database_url) as session:  # marked bad and built again: a new wait
            volume = session.scalars(select(Volume).where(Volume.media_id == "R000000001-1")).one()
            volume.rewrites, volume.built_at = 1, NOW + timedelta(hours=1)
        assert alert_blank_media_waits(settings, lambda: transport, NOW + timedelta(hours=2)) == []
        assert alert_blank_media_waits(settings, lambda: transport, NOW + timedelta(hours=3)) == ["R000000001-1"]
        assert alert_blank_media_waits(dataclasses.replace(settings, blank_media_alert_minutes=0),
                                       lambda: transport, NOW + timedelta(days=9)) == []  # 0: never
    assert len(inbox.envelopes) == 3 and {tuple(e.rcpt_tos) for e in inbox.envelopes} == {("ops@example.org",)}
    first = email.message_from_bytes(inbox.envelopes[0].content, policy=default)
    assert first["Subject"] == f"{settings.archive_name}: volume R000000001-1 waits for a blank medium"
    assert "request R000000001 has waited 90 minutes for a blank medium" in first.get_content()
    with session_scope(settings.database_url) as session:
        rows = session.execute(select(Notice.dedupe_key, Notice.state).order_by(Notice.id)).all()
    assert [tuple(r) for r in rows] == [("ops-blank-media:R000000001-1:0", NoticeState.SENT),
                                        ("ops-blank-media:R000000001-2:0", NoticeState.SENT),
                                        ("ops-blank-media:R000000001-1:1", NoticeState.SENT)]
