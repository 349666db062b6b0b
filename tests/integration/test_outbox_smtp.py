"""DNs through a real SMTP server (aiosmtpd on 127.0.0.1), and a relay that is down then up."""

from __future__ import annotations

import email
import socket
from email.policy import default

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from distribution.config import Settings
from distribution.db import session_scope
from distribution.errors import RetryableError
from distribution.models import Notice, NoticeState
from distribution.notices.outbox import SmtpTransport, enqueue_notice, message_id_for, send_pending

pytestmark = pytest.mark.integration
BODY = "Preamble. \n\n++++++++++\n\nORDERID: 0100000001\n\tGRANULE: x\n\t\tFILESIZE: 5 \n\n"


class Inbox(Message):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[email.message.Message] = []

    def handle_message(self, message: email.message.Message) -> None:
        self.messages.append(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_smtp_delivery_down_then_up(sqlite_settings: Settings) -> None:
    url = sqlite_settings.database_url
    with session_scope(url) as session:
        notice = enqueue_notice(session, dedupe_key="dn:0100000001", kind="dn", recipient="user@example.org",
                                subject="ARDIS ECS Order Notification Order ID: 0100000001", body=BODY)
        session.flush()
        notice_id = notice.id
    port = _free_port()
    transport = SmtpTransport("127.0.0.1", port, timeout=5)
    with pytest.raises(RetryableError):
        send_pending(url, transport)
    with session_scope(url) as session:
        assert session.get(Notice, notice_id).state == NoticeState.PENDING  # type: ignore[union-attr]

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert send_pending(url, transport, mail_from="ardis@example.org") == [notice_id]
        assert send_pending(url, transport) == []
    finally:
        controller.stop()
    (received,) = inbox.messages
    parsed = email.message_from_bytes(received.as_bytes(), policy=default)
    assert parsed["Subject"] == "ARDIS ECS Order Notification Order ID: 0100000001"
    assert parsed["Message-ID"] == message_id_for("dn:0100000001")
    assert parsed.get_content().replace("\r\n", "\n") == BODY
