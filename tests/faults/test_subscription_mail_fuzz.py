"""Hostile subscription e-mails through the real maildir path (``distribution/subscriptions/inbox.py``).

Random headers, forged From and envelope senders, huge fields, binary garbage and
many fields, fuzzed with hypothesis: the sweep never crashes, never creates a
subscription or changes a user (none of these mails can pass: forged ones fail the
sender checks, the owner's own have no push account to use or are not valid), answers every
refusal at most once and only to the address on record, and its time per KB of
mail stays bounded (a generous bound: no super-linear parsing).
"""

from __future__ import annotations

import mailbox
import time

from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from sqlalchemy import func, select

from distribution.config import Settings
from distribution.db import session_scope
from distribution.models import Notice, User
from distribution.notices.outbox import OutboxFolder
from distribution.subscriptions.models import MailMessage, Subscription
from distribution.subscriptions.inbox import answer_mail
from tests.unit.subscriptions.test_trust import OWNER, owner_record, request_text, setup_owner

FORGED_FROM = st.sampled_from([
    b"From: Mallory <evil@attacker.example>", b"From: sips1@sips.example.org.attacker.example",
    b"From: <>", b"From: \"sips1@sips.example.org\" <evil@attacker.example>",
    b"From: sips1@sips.example.org, evil@attacker.example",
    b"From: sips1@sips.example.org\r\nFrom: evil@attacker.example",
    b"From: sips1@sips.example.org\r\nReturn-Path: <evil@attacker.example>",
    b"From: sips1@sips.example.org\r\nSender: evil@attacker.example",
    b"From: sips1@sips.example.org\r\nReturn-Path: <>",
    b"From: =?utf-8?q?sips1=40sips.example.org?= <evil@attacker.example>",
    # The owner's own address: the body is parsed (timing), but no body here can pass (no push account exists).
    b"From: Sips <sips1@sips.example.org>",
])
HEADER_NAMES = st.sampled_from([b"Subject", b"Message-ID", b"Received", b"Content-Type", b"Reply-To", b"To",
                                b"Content-Transfer-Encoding", b"MIME-Version", b"X-Anything", b"Return-Path"])
TEXT = st.binary(max_size=300) | st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass"))
FIELD_LABELS = ["User ID", "user id", "  USER ID", "Email Address", "first name", "FTP Push", "FTP Host", "scp",
                "FTP Destination", "ESDT", "event", "Update", "Cancel", "Update FTP Host From", "Update FTP Host To",
                "qualifier statement", "notification text", "start date", "expiration date", "status",
                "SubscriptionID", "Media"]


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["request", "fields", "huge", "garbage", "many"]))
    if kind == "request":  # a well-formed request, but for an evil host and address
        return request_text(address=draw(st.sampled_from([OWNER, "evil@attacker.example"])),
                            host=draw(st.sampled_from(["evil.attacker.example", "ftp.sips.example.org"]))).encode()
    if kind == "garbage":
        return draw(st.binary(min_size=1, max_size=4000))
    if kind == "huge":
        label = draw(st.sampled_from(FIELD_LABELS))
        size = draw(st.integers(1000, 200_000))
        filler = draw(st.sampled_from([b"a", b" ", b"\n", b"(", b"9", b":", b"\t", b" AND "]))
        return f"User ID: sips1\n{label}: ".encode() + filler * (size // len(filler)) + b"\n"
    lines = draw(st.lists(st.tuples(st.sampled_from(FIELD_LABELS), TEXT), min_size=1,
                          max_size=2000 if kind == "many" else 40))
    return b"User ID: sips1\n" + b"\n".join(label.encode() + b": " + value for label, value in lines)


@st.composite
def mails(draw: st.DrawFn) -> bytes:
    headers = [draw(FORGED_FROM)]
    for name, value in draw(st.lists(st.tuples(HEADER_NAMES, TEXT), max_size=12)):
        headers.append(name + b": " + value.replace(b"\r", b" ").replace(b"\n", b" "))
    headers = draw(st.permutations(headers))
    return b"\r\n".join(headers) + b"\r\n\r\n" + draw(bodies())


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow, HealthCheck.data_too_large])
@given(raw=mails())
def test_hostile_subscription_mail(sqlite_settings: Settings, raw: bytes) -> None:
    settings = sqlite_settings
    with session_scope(settings.database_url) as session:
        if session.scalar(select(func.count()).select_from(User)) == 0:
            setup_owner(settings)
        before = session.scalar(select(func.count()).select_from(Notice))
        mails_before = session.scalar(select(func.count()).select_from(MailMessage))
    mailbox.Maildir(settings.home / "maildir", create=True).add(raw)
    started = time.monotonic()
    outcomes = answer_mail(settings, OutboxFolder(settings.outbox_dir), lambda conn_id: None)
    elapsed = time.monotonic() - started
    assert elapsed < 5 + 0.05 * len(raw) / 1024, f"{elapsed:.1f} s for {len(raw)} bytes"
    assert len(outcomes) == 1 and outcomes[0].accepted in (False, None)
    assert owner_record(settings) == (OWNER, "Sips", "Operator")
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Subscription)) == 0
        assert session.scalar(select(func.count()).select_from(User)) == 1
        new = list(session.scalars(select(Notice).where(Notice.id > before)))  # ids grow; count as a floor
        taken = session.scalar(select(func.count()).select_from(MailMessage)) - mails_before
        assert len(new) <= taken <= 1  # answered at most once
        assert all(n.recipient == OWNER for n in new)  # to the address on record, never the sender
    assert list((settings.home / "maildir" / "new").iterdir()) == []
