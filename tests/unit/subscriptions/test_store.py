"""Subscriptions kept in the database: ``ardis subscription submit|list|show|cancel`` and the mail folder.

Each message is answered with the acknowledgment of Table 4.3.2-1, parsed back
here with the acknowledgment parser; every change leaves a history row.
"""

from __future__ import annotations

import email
import mailbox
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest
from sqlalchemy import func, select

from distribution.cli.main import main
from distribution.inventory.archive import get_or_create_collection
from distribution.config import Settings
from distribution.db import session_scope
from distribution.orders.destinations import Address
from distribution.models import Notice
from distribution.orders.placing import Contact, upsert_user
from distribution.notices.outbox import OutboxFolder
from distribution.subscriptions.models import MailMessage, Subscription, SubscriptionHistory, SubscriptionState
from distribution.subscriptions.acknowledgment import parse_acknowledgment
from distribution.subscriptions.inbox import answer_mail
from distribution.subscriptions.messages import (
    Distribution,
    FieldChange,
    SubscriptionCancellation,
    SubscriptionRequest,
    SubscriptionUpdate,
    User,
    render_cancellation,
    render_request,
    render_update,
)
from distribution.subscriptions.store import expire_subscriptions
from distribution.time import utcnow
from tests.airflow_rest import AirflowRest
from tests.unit.icd_source import GOLDEN

LABUSER = User("labuser", "Lab", "User", "Q")
NOW = utcnow().replace(second=0)


def request(**changes: object) -> SubscriptionRequest:
    values: dict[str, object] = dict(
        user=LABUSER, telephone="301-555-0100", email="labuser@riverdale.com", notification_text="test 37176",
        short_name="MOD09GHK", version_id=3, start=NOW - timedelta(days=1), expiration=NOW + timedelta(days=30),
        qualifier="QAPercentMissingData >= 1 AND QAPercentMissingData <= 100",
        distribution=Distribution("scp", "host.riverdale.com", "/usr/xx/yy/"))
    values.update(changes)
    return SubscriptionRequest(**values)  # type: ignore[arg-type]


def holds_esdt(settings: Settings, esdt: str = "MOD09GHK.003") -> None:
    """Only an ESDT the archive holds is subscribable."""
    with session_scope(settings.database_url) as session:
        get_or_create_collection(session, esdt)


def submit(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, *args: str) -> tuple[int, str]:
    """Run ``ardis subscription submit`` on the text; (exit status, stdout). The subject goes to stderr."""
    path = tmp_path / f"msg-{len(list(tmp_path.iterdir()))}.txt"
    path.write_text(text)
    status = main(["subscription", "submit", str(path), *args])
    captured = capsys.readouterr()
    submit.last_err = captured.err  # type: ignore[attr-defined]
    return status, captured.out


@pytest.fixture(autouse=True)
def push_account(airflow_client: AirflowRest) -> None:
    """labuser's push account as the operator arranged it in Airflow (asked over its REST API):
    scp destinations are checked against its host."""
    airflow_client.add_connection("ardis_subscriber_labuser", {
        "conn_type": "sftp", "host": "host.riverdale.com", "login": "labuser", "password": "secret-pw"})


def test_submit_update_cancel_through_the_cli(settings: Settings, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    holds_esdt(settings)
    original = request()
    status, out = submit(tmp_path, capsys, render_request(original))
    assert status == 0
    ack = parse_acknowledgment(out, "L0 Data Subscription Request Acknowledgment")
    assert ack.accepted and ack.original == original and ack.subscription_id is not None
    assert out == render_request(original) + f"status: accepted\nSubscriptionID: {ack.subscription_id}\n"
    sub_id = ack.subscription_id

    new_end = NOW + timedelta(days=60)
    update = SubscriptionUpdate(LABUSER, sub_id, (
        FieldChange("expiration_date", original.expiration.strftime("%m/%d/%Y-%H:%M"),
                    new_end.strftime("%m/%d/%Y-%H:%M")),
        FieldChange("qualifier", "QAPercentMissingData>=1 and QAPercentMissingData<=100", "DayNightFlag = \"Day\"")))
    status, out = submit(tmp_path, capsys, render_update(update))
    assert status == 0, out
    assert out.endswith(f"status: accepted\nSubscriptionID: {sub_id}\n")
    assert parse_acknowledgment(out).original == update

    # The same update again: its From values are no longer the subscription's.
    status, out = submit(tmp_path, capsys, render_update(update))
    assert status == 1
    ack = parse_acknowledgment(out)
    assert not ack.accepted and "is not the subscription's current value" in str(ack.reason)

    # Another user cannot cancel it.
    status, out = submit(tmp_path, capsys, render_cancellation(SubscriptionCancellation(
        User("intruder", "Ann", "Other"), sub_id)))
    assert status == 1 and "is not intruder's" in out
    status, out = submit(tmp_path, capsys, render_cancellation(SubscriptionCancellation(LABUSER, sub_id)))
    assert status == 0 and out.endswith(f"status: accepted\nSubscriptionID: {sub_id}\n")

    with session_scope(settings.database_url) as session:
        sub = session.get(Subscription, sub_id)
        assert sub is not None
        assert sub.state == SubscriptionState.CANCELLED
        assert (sub.expires_at, sub.qualifier) == (new_end, 'DayNightFlag = "Day"')
        assert (sub.method.value, sub.host, sub.destination) == ("scp", "host.riverdale.com", "/usr/xx/yy/")
        assert sub.conn_id == "ardis_subscriber_labuser"  # push credentials: an Airflow connection, by name
        history = [(h.action, h.actor.split(":")[0]) for h in sub.history]
        assert history == [("created", "cli"), ("updated", "cli"), ("cancelled", "cli")]
        assert [c["field"] for c in sub.history[1].detail["changes"]] == ["expiration_date", "qualifier"]

    assert main(["subscription", "list"]) == 0
    assert f"{sub_id:>8}  labuser  MOD09GHK.003     cancelled scp" in capsys.readouterr().out
    assert main(["subscription", "show", str(sub_id)]) == 0
    shown = capsys.readouterr().out
    assert "state: cancelled" in shown and "updated" in shown and "expiration_date" in shown
    assert main(["subscription", "cancel", str(sub_id)]) == 1
    assert "already cancelled" in capsys.readouterr().err


def test_failed_acknowledgments(sqlite_settings: Settings, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    # The ICD's own example request, for an ESDT this archive does not hold: the ICD's own failed
    # acknowledgment, byte for byte.
    status, out = submit(tmp_path, capsys, (GOLDEN / "subscription_request_example.txt").read_text())
    assert status == 1
    assert out == (GOLDEN / "subscription_ack_failed_example.txt").read_text()

    holds_esdt(sqlite_settings)
    status, out = submit(tmp_path, capsys, render_request(request(expiration=NOW - timedelta(minutes=1))))
    assert status == 1
    assert out.endswith(f"status:  failed; the expiration date {(NOW - timedelta(minutes=1)):%m/%d/%Y-%H:%M} "
                        "has passed\n")
    assert not parse_acknowledgment(out).accepted

    # A message that cannot be read is answered with its own text and why.
    broken = "User ID: labuser\nfirst name: Lab\nthis line has no colon\n"
    status, out = submit(tmp_path, capsys, broken)
    assert status == 1
    assert out.startswith(broken) and "status:  failed; subscription request: line 3, message: not a 'field" in out
    assert len(out.splitlines()[-1]) <= 256

    # An update of a subscription that does not exist.
    update = SubscriptionUpdate(LABUSER, 4242, (FieldChange("telephone", "301-555-0100", "301-555-0199"),))
    status, out = submit(tmp_path, capsys, render_update(update))
    assert status == 1 and out.endswith("status:  failed; no subscription 4242\nSubscriptionID: 4242\n")
    with session_scope(sqlite_settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Subscription)) == 0


def test_a_whole_email_file_names_its_kind_by_subject(sqlite_settings: Settings, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    holds_esdt(sqlite_settings)
    message = EmailMessage()
    message["From"] = "labuser@riverdale.com"
    message["Subject"] = "L0 Data Subscription Request"
    message.set_content(render_request(request(distribution=None, qualifier=None)))
    status, out = submit(tmp_path, capsys, message.as_string(policy=default_policy))
    assert status == 0 and "status: accepted" in out
    assert submit.last_err == "Subject: L0 Data Subscription Request Acknowledgment\n"  # type: ignore[attr-defined]


def test_expiry_marks_and_an_update_revives(sqlite_settings: Settings, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    holds_esdt(sqlite_settings)
    status, out = submit(tmp_path, capsys, render_request(request(expiration=NOW + timedelta(hours=1))))
    sub_id = parse_acknowledgment(out).subscription_id
    with session_scope(sqlite_settings.database_url) as session:
        assert expire_subscriptions(session, NOW) == []
        assert expire_subscriptions(session, NOW + timedelta(hours=2)) == [sub_id]
        assert expire_subscriptions(session, NOW + timedelta(hours=3)) == []  # once
    later = NOW + timedelta(days=9)
    update = SubscriptionUpdate(LABUSER, int(str(sub_id)), (FieldChange(
        "expiration_date", (NOW + timedelta(hours=1)).strftime("%m/%d/%Y-%H:%M"), later.strftime("%m/%d/%Y-%H:%M")),))
    status, out = submit(tmp_path, capsys, render_update(update))
    assert status == 0, out
    with session_scope(sqlite_settings.database_url) as session:
        sub = session.get(Subscription, sub_id)
        assert sub is not None and sub.state == SubscriptionState.ACTIVE
        assert [h.action for h in sub.history] == ["created", "expired", "updated"]


def _drop(root: Path, sender: str, subject: str, body: str, message_id: str) -> None:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "subscriptions@archive.example"
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message.set_content(body)
    mailbox.Maildir(root, create=True).add(message.as_bytes(policy=default_policy))


def known_user(settings: Settings, user_id: str = "labuser", address: str = "labuser@riverdale.com") -> None:
    """The e-mail door takes messages only for users an operator created."""
    with session_scope(settings.database_url) as session:
        upsert_user(session, Contact(user_id=user_id, email=address, first_name="Lab", last_name="User"))


def accounts(conn_id: str) -> Address | None:
    return Address("host.riverdale.com") if conn_id == "ardis_subscriber_labuser" else None


def test_mail_folder_answers_each_message_once(settings: Settings) -> None:
    holds_esdt(settings)
    known_user(settings)
    root = settings.home / "maildir"
    _drop(root, "Lab User <labuser@riverdale.com>", "L0 Data Subscription Request", render_request(request()),
          "<req-1@riverdale.com>")
    _drop(root, "labuser@riverdale.com", "L0 Data Subscription Request Cancellation",
          render_cancellation(SubscriptionCancellation(LABUSER, 999)), "<cancel-1@riverdale.com>")
    outbox = OutboxFolder(settings.outbox_dir)
    outcomes = answer_mail(settings, outbox, accounts)
    assert [(o.sender, o.accepted) for o in outcomes] == [("labuser@riverdale.com", True),
                                                           ("labuser@riverdale.com", False)]
    assert sorted(p.name.split(":")[0] for p in (root / "cur").iterdir()) == sorted(o.key for o in outcomes)
    assert list((root / "new").iterdir()) == []
    # The same message delivered twice (a mail system's retry) is answered once.
    _drop(root, "labuser@riverdale.com", "L0 Data Subscription Request", render_request(request()),
          "<req-1@riverdale.com>")
    assert [o.accepted for o in answer_mail(settings, outbox, accounts)] == [None]
    assert answer_mail(settings, outbox, accounts) == []
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Subscription)) == 1
        assert session.scalar(select(func.count()).select_from(MailMessage)) == 2
        notices = list(session.scalars(select(Notice).order_by(Notice.id)))
        assert [(n.kind, n.recipient, n.state.value) for n in notices] == [
            ("subscription_ack", "labuser@riverdale.com", "sent")] * 2
        assert notices[0].subject == "L0 Data Subscription Request Acknowledgment"
        assert notices[1].subject == "L0 Data Subscription Request Cancellation Acknowledgment"
        assert notices[1].body.endswith("status:  failed; no subscription 999\nSubscriptionID: 999\n")
        created = session.scalars(select(SubscriptionHistory)).one()
        assert created.actor == "mail:labuser@riverdale.com"
    files = sorted(settings.outbox_dir.glob("*.eml"))
    assert len(files) == 2
    sent = email.message_from_bytes(files[0].read_bytes(), policy=default_policy)
    assert isinstance(sent, EmailMessage) and sent["To"] == "labuser@riverdale.com"
    ack = parse_acknowledgment(sent.get_content(), str(sent["Subject"]))
    assert ack.accepted and ack.original == request()


def test_operator_backfill_through_the_cli(sqlite_settings: Settings, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from distribution.inventory.archive import new_granule
    from distribution.inventory.metadata import GranuleMetadata

    with session_scope(sqlite_settings.database_url) as session:
        collection = get_or_create_collection(session, "MOD09GHK.003")
        for qa in (0, 7):
            new_granule(session, collection, f"G{qa}.hdf", GranuleMetadata(attributes={"QAPercentMissingData": qa}))
    status, out = submit(tmp_path, capsys, render_request(request(distribution=Distribution("FTP Pull"))))
    sub_id = parse_acknowledgment(out).subscription_id
    assert main(["subscription", "backfill", str(sub_id), "--since", "2000-01-01", "--no-trigger"]) == 0
    out = capsys.readouterr().out
    assert f"subscription {sub_id}: backfill fired 1 granule(s), 1 request(s)" in out  # QA 0 does not qualify
    assert "(FtpPull): left to the dispatcher" in out
    assert len(list(sqlite_settings.outbox_dir.glob("*-subscription.eml"))) == 1  # the notification, sent
    assert main(["subscription", "show", str(sub_id), "--json"]) == 0
    shown = capsys.readouterr().out
    assert '"action": "backfilled"' in shown and '"firings": 1' in shown
    assert main(["subscription", "backfill", str(sub_id), "--since", "yesterday"]) == 1
    assert "--since takes a date" in capsys.readouterr().err
