"""DNs through a real SMTP server (aiosmtpd on 127.0.0.1): delivered once, a relay down then up, a login."""

from __future__ import annotations

import email
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.policy import default
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from distribution.config import Settings
from distribution.db import session_scope
from distribution.errors import PermanentError, RetryableError
from distribution.models import Notice, NoticeState
from distribution.notices.dn import dn_subject
from devkit.peers import free_port
from distribution.notices.outbox import SmtpTransport, enqueue_notice, message_id_for, send_pending

pytestmark = pytest.mark.integration
BODY = ("Thank you for using Ardis. \n\n++++++++++\n\nORDERID: 0100000001\nUSERSTRING: \n\n"
        "\tGRANULE: UR:10:DsShESDTUR:UR:15:DsShSciServerUR:13:[ARD:DSSDSRV]:17:SC:L70R.002:17720\n\n"
        "\t\tFILENAME: L70R \xe9t\xe9\t \n\t\tFILESIZE: 5\n\n")
SUBJECT = dn_subject("ARDIS", "0100000001")


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps each envelope as received (raw DATA bytes)."""

    envelopes: list[Any] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 OK"


@contextmanager
def smtp_server(port: int, **options: Any) -> Iterator[Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


def _enqueue(url: str, key: str = "dn:0100000001") -> int:
    with session_scope(url) as session:
        return enqueue_notice(session, dedupe_key=key, kind="dn", recipient="user@example.org", subject=SUBJECT,
                              body=BODY).id


def _notice(url: str, notice_id: int) -> Notice:
    with session_scope(url) as session:
        notice = session.get(Notice, notice_id)
        assert notice is not None
        return notice


def test_smtp_delivery_down_then_up(sqlite_settings: Settings) -> None:
    url = sqlite_settings.database_url
    notice_id = _enqueue(url)
    port = free_port()
    transport = SmtpTransport("127.0.0.1", port, timeout=5)

    with pytest.raises(RetryableError, match="refused"):  # nobody listens on the port yet
        send_pending(url, transport, mail_from="ardis@example.org")
    notice = _notice(url, notice_id)
    assert (notice.state, notice.attempts, notice.sent_at) == (NoticeState.PENDING, 1, None)
    assert "ConnectionRefusedError" in str(notice.last_error)

    with smtp_server(port) as inbox:
        assert send_pending(url, transport, mail_from="ardis@example.org") == [notice_id]
        assert send_pending(url, transport, mail_from="ardis@example.org") == []
    (envelope,) = inbox.envelopes
    assert (envelope.mail_from, envelope.rcpt_tos) == ("ardis@example.org", ["user@example.org"])
    received = email.message_from_bytes(envelope.original_content, policy=default)
    assert received["Subject"] == SUBJECT and received["To"] == "user@example.org"
    assert received["Message-ID"] == message_id_for("dn:0100000001")
    # On the wire a text body has CRLF line ends (its canonical form); otherwise byte for byte.
    assert received.get_content() == BODY.replace("\n", "\r\n")
    notice = _notice(url, notice_id)
    assert (notice.state, notice.attempts, notice.sent_via, notice.last_error) == (
        NoticeState.SENT, 2, f"smtp://127.0.0.1:{port}", None)


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"ardis", b"s3cret")
    return AuthResult(success=ok, handled=False)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login_and_a_wrong_password(sqlite_settings: Settings) -> None:
    url = sqlite_settings.database_url
    notice_id = _enqueue(url)
    port = free_port()
    with smtp_server(port, authenticator=_authenticator, auth_require_tls=False, auth_required=True) as inbox:
        with pytest.raises(PermanentError, match="535"):  # waiting cannot fix a wrong password
            send_pending(url, SmtpTransport("127.0.0.1", port, "ardis", "wrong", timeout=5))
        assert _notice(url, notice_id).state == NoticeState.PENDING
        transport = SmtpTransport("127.0.0.1", port, "ardis", "s3cret", timeout=5)
        assert "s3cret" not in repr(transport)
        assert send_pending(url, transport) == [notice_id]
    assert len(inbox.envelopes) == 1


def test_an_ascii_dn_crosses_smtp_with_its_lines_whole(sqlite_settings: Settings) -> None:
    """What the relay receives (raw DATA) has each long ICD line on one line, 7bit."""
    url = sqlite_settings.database_url
    line = "\t\t GRANULE: UR:10:DsShESDTUR:UR:15:DsShSciServerUR:13:[ARD:DSSDSRV]:24:SC:MOD09GHK.003:1234567890"
    body = f"Preamble. \n\n++++++++++\n\nORDERID: 0100000001\nUSERSTRING: \n{line}\n\t\tFILENAME: a.hdf\n"
    with session_scope(url) as session:
        enqueue_notice(session, dedupe_key="dn:7bit", kind="dn", recipient="user@example.org", subject=SUBJECT,
                       body=body)
    port = free_port()
    with smtp_server(port) as inbox:
        send_pending(url, SmtpTransport("127.0.0.1", port, timeout=5), mail_from="ardis@example.org")
    (envelope,) = inbox.envelopes
    raw: bytes = envelope.original_content
    assert b"Content-Transfer-Encoding: 7bit" in raw
    assert line.encode() + b"\r\n" in raw and b"=\r\n" not in raw and b"=09" not in raw
    assert raw.split(b"\r\n\r\n", 1)[1] == body.replace("\n", "\r\n").encode()
