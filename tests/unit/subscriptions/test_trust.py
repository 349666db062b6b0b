"""Who may change a subscription by e-mail, where pushes may go, and what an acknowledgment keeps.

Issue 10, defect 2: a mail naming ``User ID: sips1`` with another address replaced
sips1's record and made a push to the sender's host with sips1's connection.
Defect 12: the acknowledgment re-rendered the request instead of keeping it.
"""

from __future__ import annotations

import email
import mailbox
from datetime import timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest
from sqlalchemy import func, select

from distribution.inventory.archive import get_or_create_collection
from distribution.config import Settings
from distribution.db import session_scope
from distribution.models import MediaType, Notice, Order, Request, User
from distribution.notices.outbox import OutboxFolder
from distribution.orders.placing import Contact, upsert_user
from distribution.subscriptions.models import Subscription
from distribution.subscriptions.inbox import answer_mail
from distribution.time import utcnow
from tests.unit.icd_source import GOLDEN

OWNER = "sips1@sips.example.org"
NOW = utcnow().replace(second=0)


def request_text(user_id: str = "sips1", address: str = OWNER, host: str = "ftp.sips.example.org",
                 first: str = "Sips") -> str:
    return (f"User ID: {user_id}\nfirst name: {first}\nlast name: Operator\ntelephone: 301-555-0100\n"
            f"Email Address: {address}\nnotification text: standing order\nESDT: MOD09GHK.003\nevent:  INSERT\n"
            f"FTP Push: Enable\nFTP Host: {host}\nFTP Destination: /incoming/\n"
            f"start date: {NOW - timedelta(days=1):%m/%d/%Y-%H:%M}\n"
            f"expiration date: {NOW + timedelta(days=30):%m/%d/%Y-%H:%M}\n")


def setup_owner(settings: Settings) -> None:
    """sips1, created by an operator, and the ESDT it subscribes to."""
    with session_scope(settings.database_url) as session:
        get_or_create_collection(session, "MOD09GHK.003")
        upsert_user(session, Contact(user_id="sips1", email=OWNER, first_name="Sips", last_name="Operator"))


def drop(settings: Settings, body: str, sender: str, *, message_id: str, headers: dict[str, str] | None = None,
         subject: str = "L0 Data Subscription Request") -> None:
    message = EmailMessage()
    for name, value in (headers or {}).items():
        message[name] = value
    message["From"] = sender
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message.set_content(body)
    mailbox.Maildir(settings.home / "maildir", create=True).add(message.as_bytes(policy=default_policy))


def sent(settings: Settings) -> list[EmailMessage]:
    out = []
    for path in sorted(settings.outbox_dir.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
        assert isinstance(message, EmailMessage)
        out.append(message)
    return out


def owner_record(settings: Settings) -> tuple[str, str, str]:
    with session_scope(settings.database_url) as session:
        user = session.scalars(select(User).where(User.user_id == "sips1")).one()
        return user.email, user.first_name, user.last_name


def test_a_forged_mail_changes_nothing_and_the_owner_is_told(settings: Settings) -> None:
    setup_owner(settings)
    forged = request_text(address="evil@attacker.example", host="evil.attacker.example", first="Mallory")
    drop(settings, forged, "Mallory <evil@attacker.example>", message_id="<forged-1@attacker.example>")
    # The owner's address in From, but the envelope sender is someone else's.
    drop(settings, forged, OWNER, message_id="<forged-2@attacker.example>",
         headers={"Return-Path": "<evil@attacker.example>"})
    outcomes = answer_mail(settings, OutboxFolder(settings.outbox_dir))
    assert [o.accepted for o in outcomes] == [False, False]
    assert owner_record(settings) == (OWNER, "Sips", "Operator")
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Subscription)) == 0
    mails = sent(settings)
    assert [m["To"] for m in mails] == [OWNER, OWNER]  # never the sender
    first, second = (m.get_content() for m in mails)
    assert first.startswith(forged)  # the message as received, then why
    assert first.endswith("status:  failed; not sent from the address on record for User ID sips1\n")
    assert second.endswith("status:  failed; not accepted by e-mail: its envelope sender (Return-Path) "
                           "is not its From address\n")


def test_unknown_user_is_answered_to_no_one(sqlite_settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    setup_owner(sqlite_settings)
    drop(sqlite_settings, request_text(user_id="newbie", address="n@x.example"), "n@x.example",
         message_id="<new-1@x.example>")
    (outcome,) = answer_mail(sqlite_settings, OutboxFolder(sqlite_settings.outbox_dir))
    assert outcome.accepted is False and outcome.notice_id is None
    assert sent(sqlite_settings) == []
    assert "User ID newbie is not known to the archive" in caplog.text
    with session_scope(sqlite_settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(User)) == 1


def test_the_owner_pushes_only_to_the_host_of_the_push_account(sqlite_settings: Settings,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from distribution.orders.destinations import Address

    def accounts(conn_id: str) -> Address | None:
        return Address("ftp.sips.example.org", 21) if conn_id == "ardis_subscriber_sips1" else None

    setup_owner(sqlite_settings)
    drop(sqlite_settings, request_text(host="elsewhere.example.org"), OWNER, message_id="<a@sips>")
    drop(sqlite_settings, request_text(host="ftp.sips.example.org:2121"), OWNER, message_id="<b@sips>")
    drop(sqlite_settings, request_text(host="FTP.sips.example.org"), OWNER, message_id="<c@sips>")
    outcomes = answer_mail(sqlite_settings, OutboxFolder(sqlite_settings.outbox_dir), accounts)
    assert [o.accepted for o in outcomes] == [False, False, True]
    bodies = [m.get_content() for m in sent(sqlite_settings)]
    assert "elsewhere.example.org is not the host of the push account ardis_subscriber_sips1" in bodies[0]
    assert "port 2121 is not the port of the push account" in bodies[1]

    # A trusted relay is required once configured: the topmost Received line is Ardis's own MTA's.
    monkeypatch.setenv("ARDIS_SUBSCRIPTION_RELAYS", "192.0.2.0/24, mx.sips.example.org")
    from distribution.config import load_settings

    relayed = load_settings()
    hop = "from {helo} ({name} [{ip}]) by mx.archive.example (Postfix) with ESMTPS id 1; Sat, 5 Dec 2026 10:00:00 +0000"
    lower = hop.format(helo="x", name="mx.sips.example.org", ip="192.0.2.10")  # written by the sender: ignored
    drop(relayed, request_text(), OWNER, message_id="<d@sips>",
         headers={"Received": hop.format(helo="mx.sips.example.org", name="unknown", ip="203.0.113.5")})
    drop(relayed, request_text(), OWNER, message_id="<e@sips>", headers={"Received": lower})
    outcomes = answer_mail(relayed, OutboxFolder(relayed.outbox_dir), accounts)
    assert [o.accepted for o in outcomes] == [False, True]
    assert sent(relayed)[-2].get_content().endswith("it did not come through a trusted mail relay\n")


def test_the_push_itself_checks_the_connection_host() -> None:
    from distribution.orders.delivery import Credentials, push_endpoint
    from distribution.errors import PermanentError

    request = Request(media_type=MediaType.FTP_PUSH, host="evil.attacker.example", port=None, directory="/in",
                      conn_id="ardis_subscriber_sips1", order=Order(source="subscription"))
    with pytest.raises(PermanentError, match="is not the host of the push account"):
        push_endpoint(request, Credentials(host="ftp.sips.example.org", username="sips1", password="pw"))
    with pytest.raises(PermanentError, match="names no host"):
        push_endpoint(request, Credentials(username="sips1", password="pw"))
    request.host = "ftp.sips.example.org"
    assert push_endpoint(request, Credentials(host="ftp.sips.example.org", password="pw")).host == request.host


def test_the_operator_never_rewrites_a_user_silently(sqlite_settings: Settings, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from distribution.cli.main import main

    setup_owner(sqlite_settings)
    text = request_text(address="other@sips.example.org", first="Another").replace(
        "FTP Push: Enable\nFTP Host: ftp.sips.example.org\nFTP Destination: /incoming/\n", "")
    (tmp_path / "m.txt").write_text(text)
    assert main(["subscription", "submit", str(tmp_path / "m.txt")]) == 0
    err = capsys.readouterr().err
    assert "note: user sips1's record was left as it is (Sips Operator <sips1@sips.example.org>)" in err
    assert owner_record(sqlite_settings) == (OWNER, "Sips", "Operator")
    with session_scope(sqlite_settings.database_url) as session:
        assert session.scalars(select(Subscription.email)).one() == "other@sips.example.org"


def test_the_acknowledgment_keeps_the_message_as_received(sqlite_settings: Settings) -> None:
    setup_owner(sqlite_settings)
    lines = request_text().replace("FTP Push: Enable\nFTP Host: ftp.sips.example.org\nFTP Destination: /incoming/\n",
                                   "").splitlines()
    as_written = "\n".join(["  user id:   sips1", lines[4].upper().replace("EMAIL ADDRESS", "email address")]
                           + lines[1:4] + lines[5:]) + "\n\n"
    drop(sqlite_settings, as_written, OWNER, message_id="<kept@sips>")
    (outcome,) = answer_mail(sqlite_settings, OutboxFolder(sqlite_settings.outbox_dir))
    assert outcome.accepted
    (ack,) = sent(sqlite_settings)
    status = f"status: accepted\nSubscriptionID: {outcome.subscription_id}\n"
    assert ack.get_content() == as_written.rstrip("\n") + "\n" + status


def test_the_icd_example_acknowledgment_byte_for_byte(sqlite_settings: Settings) -> None:
    """Table 4.3.2-1: the ICD's request, its status and SubscriptionID 210 appended."""
    from distribution.subscriptions.store import answer_message

    with session_scope(sqlite_settings.database_url) as session:
        get_or_create_collection(session, "AM1EPHN0.001")
        user = upsert_user(session, Contact(user_id="labuser", email="labuser@riverdale.com"))
        session.add(Subscription(id=209, user_pk=user.id, user_id="labuser", first_name="Lab", last_name="User",
                                 telephone="1", email="x@y", notification_text="", short_name="X", version_id=1,
                                 start_at=NOW, expires_at=NOW))
    text = (GOLDEN / "subscription_request_example.txt").read_text()
    text = text.replace("03/19/2003-23:59", f"{NOW + timedelta(days=9):%m/%d/%Y-%H:%M}")
    with session_scope(sqlite_settings.database_url) as session:
        answer = answer_message(session, text, None, actor="test")
    golden = (GOLDEN / "subscription_ack_accepted_example.txt").read_text()
    assert answer.accepted and answer.subscription_id == 210
    assert answer.text == golden.replace("03/19/2003-23:59", f"{NOW + timedelta(days=9):%m/%d/%Y-%H:%M}")


def test_a_firing_places_its_order_without_touching_the_user(sqlite_settings: Settings) -> None:
    """The order a subscription places is the user's as on record; its notices go to the subscription's address."""
    from distribution.subscriptions.dispatch import dispatch_pending
    from distribution.subscriptions.messages import Distribution
    from tests.unit.subscriptions.test_dispatch import insert_granules, subscribe

    setup_owner(sqlite_settings)
    subscribe(sqlite_settings, "sips1", distribution=Distribution("FTP Pull"))  # Email Address sips1@example.org
    insert_granules(sqlite_settings, 1)
    result = dispatch_pending(sqlite_settings)
    assert result.firings == 1 and len(result.requests) == 1
    assert owner_record(sqlite_settings) == (OWNER, "Sips", "Operator")
    with session_scope(sqlite_settings.database_url) as session:
        assert session.scalars(select(Request.notify_email)).one() == "sips1@example.org"
