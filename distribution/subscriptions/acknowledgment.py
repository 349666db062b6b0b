"""The Subscription Request Acknowledgment (ICD 4.3.2, Table 4.3.2-1).

"The original request message is retained and the status and SubscriptionID are
appended": the body of the request, update or cancellation, then
``status: accepted`` or ``status:  failed; <free text>`` (two blanks, as the
table shows), then ``SubscriptionID: NNNNNNNN``. The subject is the original's
followed by `` Acknowledgment``.

* The status line is at most 256 B, so a failure reason is at most 239 characters
  (256 minus ``status:  failed; ``), printable ASCII on one line; its inner
  spacing is kept (the table's example has ``could  not``).
* The original is kept as received, line for line (labels' case, field order,
  leading blanks and all): ``received`` holds it. Characters that are not
  printable ASCII become ``?`` (a notice is plain ASCII), trailing blank lines
  are dropped, and a message longer than MAX_RETAINED characters is cut at a line
  end (such a message is refused anyway). Without ``received`` (an
  acknowledgment built in code) the original is rendered in the tables' form.
* SubscriptionID is an integer of up to 8 digits (NNNNNNNN; the table's 23 B is
  one short of its own label and eight digits). An accepted acknowledgment carries
  one; a failed one may not have one (a new request that was refused).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from distribution.subscriptions.fields import Line, MessageError, Problem, printable, read_lines, subscription_id
from distribution.subscriptions.messages import (
    CANCEL_SUBJECT,
    REQUEST_SUBJECT,
    UPDATE_SUBJECT,
    SubscriptionCancellation,
    SubscriptionRequest,
    SubscriptionUpdate,
    cancellation_from_lines,
    render_cancellation,
    render_request,
    render_update,
    request_from_lines,
    update_from_lines,
)

SUFFIX = " Acknowledgment"
MAX_RETAINED = 16384  # characters of a received message kept in its acknowledgment (a request is ~3 KB)
Original = Union[SubscriptionRequest, SubscriptionUpdate, SubscriptionCancellation]


@dataclass(frozen=True)
class Acknowledgment:
    """The DAAC's answer to a request, update or cancellation."""

    original: Original
    accepted: bool
    reason: str | None = None  # why it failed
    subscription_id: int | None = None
    received: str | None = None  # the original body as received, kept in the acknowledgment

    @property
    def subject(self) -> str:
        return self.original.subject + SUFFIX


def _status_problem(ack: Acknowledgment) -> str | None:
    if ack.accepted:
        if ack.reason is not None:
            return "an accepted acknowledgment has no reason"
        if ack.subscription_id is None:
            return "an accepted acknowledgment carries the SubscriptionID"
        return None
    reason = ack.reason or ""
    if not reason.strip() or reason != reason.strip():
        return "a failed acknowledgment needs a reason without surrounding blanks"
    if printable(reason):
        return "the reason must be printable ASCII on one line"
    return f"the reason is {len(reason)} characters; at most 239" if len(reason) > 239 else None


def render_acknowledgment(ack: Acknowledgment) -> str:
    """The original body, the status line and the SubscriptionID line."""
    problems = []
    why = _status_problem(ack)
    if why:
        problems.append(Problem("status", None, why))
    if ack.subscription_id is not None and subscription_id(str(ack.subscription_id)):
        problems.append(Problem("SubscriptionID", None, f"{ack.subscription_id} is not an integer of 1-8 digits"))
    if problems:
        raise MessageError("subscription acknowledgment", problems)
    original = ack.original
    if ack.received is not None:
        body = retained(ack.received)
    elif isinstance(original, SubscriptionUpdate):
        body = render_update(original)
    elif isinstance(original, SubscriptionCancellation):
        body = render_cancellation(original)
    else:
        body = render_request(original)
    return body + _status(ack.accepted, ack.reason, ack.subscription_id)


def _status(accepted: bool, reason: str | None, subscription_id: int | None) -> str:
    body = "status: accepted\n" if accepted else f"status:  failed; {reason}\n"
    return body + (f"SubscriptionID: {subscription_id}\n" if subscription_id is not None else "")


def retained(text: str) -> str:
    """The received body as the acknowledgment keeps it: its lines as they came, each ended by LF."""
    text = text[: MAX_RETAINED + 1]
    lines = re.split(r"\r\n|\r|\n", text)
    if len(text) > MAX_RETAINED:
        lines = lines[:-1] or [text[:MAX_RETAINED]]  # cut at a line end
    while lines and not lines[-1].strip():
        lines.pop()
    return "".join(re.sub(r"[^\x20-\x7e\t]", "?", line) + "\n" for line in lines)


def failed_text(received: str, reason: str, subscription_id: int | None) -> str:
    """A failed acknowledgment of a message that could not be read: its text as received, then why."""
    return retained(received) + _status(False, reason, subscription_id)


def message_kind(lines: list[Line]) -> str:
    """request, update or cancellation, read from the fields (a cancellation has Cancel:, an update Update …)."""
    keys = {line.key for line in lines}
    if "cancel" in keys:
        return "cancellation"
    if any(re.fullmatch(r"update.*", k) for k in keys):
        return "update"
    return "request"


def parse_acknowledgment(text: str, subject: str | None = None) -> Acknowledgment:
    """Read an acknowledgment; whether it answers a request, update or cancellation is read from its fields."""
    problems: list[Problem] = []
    lines = read_lines(text, problems)
    status = [line for line in lines if line.key == "status"]
    ids = [line for line in lines if line.key == "subscriptionid"]
    rest = [line for line in lines if line.key not in ("status", "subscriptionid")]
    for extra in status[1:] + ids[1:]:
        problems.append(Problem(extra.label, extra.number, "given twice"))
    accepted, reason = False, None
    if not status:
        problems.append(Problem("status", None, "is required"))
    else:
        m = re.fullmatch(r"(?is)(accepted)|failed\s*;\s*(.*)", status[0].value)
        if not m:
            problems.append(Problem("status", status[0].number, "must be 'accepted' or 'failed; <reason>'"))
        else:
            accepted, reason = m.group(1) is not None, m.group(2)
            if not accepted and not reason:
                problems.append(Problem("status", status[0].number, "a failure needs a reason after 'failed; '"))
    number = None
    if ids:
        why = subscription_id(ids[0].value)
        if why:
            problems.append(Problem("SubscriptionID", ids[0].number, why))
        else:
            number = int(ids[0].value)
    elif accepted:
        problems.append(Problem("SubscriptionID", None, "is required when the status is accepted"))
    kind = message_kind(rest)
    default = {"request": REQUEST_SUBJECT, "update": UPDATE_SUBJECT, "cancellation": CANCEL_SUBJECT}[kind]
    original_subject = subject.removesuffix(SUFFIX) if subject is not None else default
    builder = {"update": update_from_lines, "cancellation": cancellation_from_lines}.get(kind, request_from_lines)
    original: Original | None = builder(rest, original_subject, problems)  # type: ignore[operator]
    if problems or original is None:
        raise MessageError("subscription acknowledgment", problems)
    return Acknowledgment(original, accepted, reason, number)
