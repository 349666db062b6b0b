"""The Subscription Request Acknowledgment (ICD 4.3.2, Table 4.3.2-1).

"The original request message is retained and the status and SubscriptionID are
appended": the body of the request, update or cancellation, then
``status: accepted`` or ``status:  failed; <free text>`` (two blanks, as the
table shows), then ``SubscriptionID: NNNNNNNN``. The subject is the original's
followed by `` Acknowledgment``.

* The status line is at most 256 B, so a failure reason is at most 239 characters
  (256 minus ``status:  failed; ``), printable ASCII on one line; its inner
  spacing is kept (the table's example has ``could  not``).
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
Original = Union[SubscriptionRequest, SubscriptionUpdate, SubscriptionCancellation]


@dataclass(frozen=True)
class Acknowledgment:
    """The DAAC's answer to a request, update or cancellation."""

    original: Original
    accepted: bool
    reason: str | None = None  # why it failed
    subscription_id: int | None = None

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
    if isinstance(original, SubscriptionUpdate):
        body = render_update(original)
    elif isinstance(original, SubscriptionCancellation):
        body = render_cancellation(original)
    else:
        body = render_request(original)
    body += "status: accepted\n" if ack.accepted else f"status:  failed; {ack.reason}\n"
    if ack.subscription_id is not None:
        body += f"SubscriptionID: {ack.subscription_id}\n"
    return body


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
