"""Subscriptions through real ``dag.test()`` runs, no one touching the order.

A PDR dropped at a local provider → ardis_pdr_poll + ardis_ingest → the INSERT
→ ardis_subscriptions fires the matching subscription (scp to OpenSSH, the key
and known_hosts in an ``AIRFLOW_CONN_*`` connection) → the request's
ardis_distribution run → the granule and the ``.notifyscp`` DN in the
subscriber's directory, the event notification in the outbox. And the mail DAG
answers an e-mail dropped into the maildir.
"""

from __future__ import annotations

import email
import json
import mailbox
from datetime import timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from distribution.config import Settings
from distribution.db import session_scope
from devkit.sample_data import SAMPLES, write_delivery
from distribution.models import GranuleEvent, Notice, Request, RequestState
from distribution.orders.placing import Contact, upsert_user
from distribution.ingest.pdr import render_pdr
from devkit.peers import SshServer
from distribution.ingest.providers import ProviderSpec, add_provider
from distribution.subscriptions.models import SubscriptionFiring
from distribution.subscriptions.acknowledgment import parse_acknowledgment
from distribution.subscriptions.messages import Distribution, SubscriptionRequest, User, render_request
from distribution.subscriptions.notification import parse_notification
from distribution.subscriptions.store import create_subscription
from distribution.time import utcnow
from tests.dags.conftest import forget_runs, run_dag, task_states
from tests.dags.test_ingest_dag import _collections, poll_and_ingest
from tests.integration.conftest import sshd  # noqa: F401  (fixture)

pytestmark = pytest.mark.dags


def _request(user_id: str, qualifier: str, distribution: Distribution | None) -> SubscriptionRequest:
    now = utcnow().replace(second=0)
    return SubscriptionRequest(User(user_id, "Sips", "Operator"), "301-555-0100", f"{user_id}@sips.example.org",
                               f"standing order of {user_id}", "MOD09GHK", 3, now - timedelta(days=1),
                               now + timedelta(days=30), qualifier, distribution)


def _mails(settings: Settings, kind: str) -> list[EmailMessage]:
    found = []
    for path in sorted(settings.outbox_dir.glob(f"*-{kind}.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
        assert isinstance(message, EmailMessage)
        found.append(message)
    return found


def test_schedule_is_the_asset_or_every_five_minutes(dagbag: Any) -> None:
    dag = dagbag.get_dag("ardis_subscriptions")
    assert dag is not None, dagbag.import_errors
    timetable = dag.timetable
    assert type(timetable).__name__ == "AssetOrTimeSchedule"
    assert [a.uri for a in timetable.asset_condition.objects] == ["ardis://granules/insert"]
    assert type(timetable.timetable).__name__ == "CronTriggerTimetable"
    assert dag.get_task("send_notifications").trigger_rule == "all_done"
    assert dagbag.get_dag("ardis_subscription_mail") is not None


def test_pdr_to_subscriber_by_scp_no_one_touching_it(dagbag: Any, sqlite_settings: Settings, tmp_path: Path,
                                                      sshd: SshServer, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = sqlite_settings
    _collections(settings)
    area = tmp_path / "provider"
    (area / "PDR").mkdir(parents=True)
    target = tmp_path / "subscriber-in"
    target.mkdir()
    monkeypatch.setenv("AIRFLOW_CONN_ARDIS_SUBSCRIBER_SIPSA", json.dumps({
        "conn_type": "sftp", "host": "127.0.0.1", "port": sshd.port, "login": sshd.username,
        "extra": {"private_key": sshd.private_key, "known_hosts": sshd.known_hosts}}))
    with session_scope(settings.database_url) as session:
        add_provider(session, ProviderSpec(name="SIPS1", root_directory=str(area), polling_directory="/PDR"))
        wanted = create_subscription(session, _request("sipsa", "QAPercentMissingData <= 100",
                                                       Distribution("scp", "127.0.0.1", f"{target}/")),
                                     actor="test", source="email").id
        unwanted = create_subscription(session, _request("sipsb", "QAPercentMissingData > 100",
                                                         Distribution("scp", "127.0.0.1", f"{target}/")),
                                       actor="test", source="email").id
    pdr = write_delivery(area, "DATA", SAMPLES[:1], scale=1 / 64)
    (area / "PDR" / "SUB.PDR").write_text(render_pdr(pdr))

    poll_and_ingest(dagbag, settings)
    forget_runs("ardis_distribution")  # the trigger below must start request-<id>, not find an earlier test's
    run = run_dag(dagbag, "ardis_subscriptions", {})
    states = task_states(run)
    assert states["dispatch"] == "success" and states["send_notifications"] == "success", states
    with session_scope(settings.database_url) as session:
        (firing,) = session.scalars(select(SubscriptionFiring)).all()
        assert firing.subscription_id == wanted and firing.order_pk is not None
        assert session.scalars(select(GranuleEvent.processed_at)).one() is not None
        request = session.scalars(select(Request).where(Request.order_pk == firing.order_pk)).one()
        request_id, granule_id = str(request.request_id), firing.granule_id
        assert (request.userstring, request.conn_id) == ("standing order of sipsa", "ardis_subscriber_sipsa")
    assert unwanted != wanted
    assert states["trigger_distribution"] == "success", states
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as af:  # the dispatch started the request's run itself
        triggered = af.query(DagRun).filter_by(dag_id="ardis_distribution", run_id=f"request-{request_id}").one()
        assert triggered.conf == {"request_id": request_id, "order_id": triggered.conf["order_id"]}

    # The run the dispatch triggered (dag.test runs it here, as the scheduler would).
    delivery = run_dag(dagbag, "ardis_distribution", {"request_id": request_id})
    assert set(task_states(delivery).values()) == {"success"}, task_states(delivery)
    names = {p.name for p in target.iterdir()}
    assert set(SAMPLES[0].data_files) <= names and f"{request_id}.notifyscp" in names
    assert "USERSTRING: standing order of sipsa" in (target / f"{request_id}.notifyscp").read_text()
    with session_scope(settings.database_url) as session:
        assert session.scalars(select(Request.state).where(Request.request_id == request_id)).one() == \
            RequestState.COMPLETE

    (mail,) = _mails(settings, "subscription")
    assert mail["To"] == "sipsa@sips.example.org"
    assert mail["Subject"] == "Notification for Event: MOD09GHK.3:INSERT"
    notice = parse_notification(mail.get_content())
    assert notice.granule_ur.endswith(f":SC:MOD09GHK.003:{granule_id}") and notice.subscription_id == wanted
    assert notice.qualifier_list == (("QAPercentMissingData", "max = 100"),)

    # Another sweep (the 5-minute tick) finds nothing more to fire.
    again = run_dag(dagbag, "ardis_subscriptions", {})
    assert task_states(again)["dispatch"] == "success"
    with session_scope(settings.database_url) as session:
        assert len(session.scalars(select(SubscriptionFiring)).all()) == 1


def test_mail_dag_acknowledges_a_dropped_request(dagbag: Any, sqlite_settings: Settings) -> None:
    _collections(sqlite_settings)
    with session_scope(sqlite_settings.database_url) as session:  # by e-mail only for users an operator created
        upsert_user(session, Contact(user_id="sipsc", email="sipsc@sips.example.org"))
    message = EmailMessage()
    message["From"] = "SIPS Ops <sipsc@sips.example.org>"
    message["Subject"] = "L0 Data Subscription Request"
    message["Message-ID"] = "<sub-request-1@sips.example.org>"
    message.set_content(render_request(_request("sipsc", "QAPercentMissingData <= 5", None)))
    mailbox.Maildir(sqlite_settings.home / "maildir", create=True).add(message.as_bytes(policy=default_policy))
    run = run_dag(dagbag, "ardis_subscription_mail", {})
    assert task_states(run) == {"answer_incoming_mail": "success"}
    (ack_mail,) = _mails(sqlite_settings, "subscription_ack")
    assert ack_mail["To"] == "sipsc@sips.example.org"
    ack = parse_acknowledgment(ack_mail.get_content(), str(ack_mail["Subject"]))
    assert ack.accepted and ack.subscription_id is not None
    with session_scope(sqlite_settings.database_url) as session:
        notice = session.scalars(select(Notice)).one()
        assert notice.state.value == "sent"
    assert list((sqlite_settings.home / "maildir" / "new").iterdir()) == []
