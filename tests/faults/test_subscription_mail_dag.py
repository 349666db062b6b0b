"""A forged subscription e-mail through a real ``ardis_subscription_mail`` run (``dag.test``).

The mail names sips1, asks for a push to the sender's host with sips1's
connection and gives another address: nothing changes, and the failed
acknowledgment goes to sips1's address on record, not to the sender.
"""

from __future__ import annotations

import email
import json
import mailbox
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import pytest
from sqlalchemy import func, select

from distribution.config import Settings
from distribution.db import session_scope
from distribution.subscriptions.models import Subscription
from tests.dags.conftest import airflow_db, dagbag, run_dag, task_states  # noqa: F401  (fixtures)
from tests.unit.subscriptions.test_trust import OWNER, owner_record, request_text, setup_owner

pytestmark = pytest.mark.dags


def test_forged_mail_through_the_mail_dag(dagbag: Any, sqlite_settings: Settings,  # noqa: F811
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    settings = sqlite_settings
    setup_owner(settings)
    monkeypatch.setenv("AIRFLOW_CONN_ARDIS_SUBSCRIBER_SIPS1", json.dumps(
        {"conn_type": "ftp", "host": "ftp.sips.example.org", "login": "sips1", "password": "sips1-secret"}))
    message = EmailMessage()
    message["From"] = "Mallory <evil@attacker.example>"
    message["Subject"] = "L0 Data Subscription Request"
    message["Message-ID"] = "<forged-dag@attacker.example>"
    message.set_content(request_text(address="evil@attacker.example", host="evil.attacker.example"))
    mailbox.Maildir(settings.home / "maildir", create=True).add(message.as_bytes(policy=default_policy))

    run = run_dag(dagbag, "ardis_subscription_mail", {})
    assert task_states(run) == {"answer_incoming_mail": "success"}
    assert owner_record(settings) == (OWNER, "Sips", "Operator")
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Subscription)) == 0
    (path,) = settings.outbox_dir.glob("*-subscription_ack.eml")
    ack = email.message_from_bytes(path.read_bytes(), policy=default_policy)
    assert isinstance(ack, EmailMessage) and ack["To"] == OWNER
    assert ack.get_content().endswith("status:  failed; not sent from the address on record for User ID sips1\n")
    assert list((settings.home / "maildir" / "new").iterdir()) == []
