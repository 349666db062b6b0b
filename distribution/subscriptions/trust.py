"""Who may change a subscription by e-mail: the checks made on a mail before its text is applied.

A subscription e-mail can create a push that uses the subscriber's stored
credentials, so anyone able to drop a mail into the maildir must not be able to
speak for a User ID. Ardis accepts a subscription e-mail only when all of these hold:

* the User ID is one the archive already knows (an operator created it:
  ``ardis order create`` or ``ardis subscription submit``); the e-mail door never
  creates a user and never changes one;
* the mail has exactly one From address, and it is the address on record for
  that User ID (compared without regard to case); a ``Sender:`` header, if any,
  names the same address, and so does ``Return-Path:`` (the envelope sender the
  delivering MTA wrote; ``<>``, a bounce, is refused);
* where ``ARDIS_SUBSCRIPTION_RELAYS`` is set (comma-separated IP addresses,
  networks such as ``192.0.2.0/24``, or host names), the topmost ``Received:``
  header — the one Ardis's own MTA wrote on taking the mail — says it came from
  one of them: the bracketed IP address is matched against addresses and
  networks, the MTA's reverse-DNS name (first word in the parentheses) against
  host names. The HELO name and every lower ``Received:`` line are the sender's
  to write and are ignored. This is the check that makes a forged From useless,
  since only the SIPS's own relay can deliver as the SIPS: the From checks alone
  stop a stray or careless mail, not a deliberate forger who knows the address.
  Sites whose MTA verifies DKIM instead can list only that MTA's own address and
  have it refuse unsigned mail.

A refused mail is answered with the failed acknowledgment sent to the address on
record (never to the sender); a mail for an unknown User ID is answered to no
one and logged for the operators.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses

_RECEIVED_FROM = re.compile(r"(?is)^\s*from\s+(?P<helo>\S+)\s*\((?P<inside>[^)]{0,400})\)")
_BRACKETED_IP = re.compile(r"\[(?:IPv6:)?([0-9A-Fa-f:.]{2,45})\]")


@dataclass(frozen=True)
class Sender:
    """The mail's From address and, when its origin cannot be trusted, why (checked before the address)."""

    address: str
    problem: str | None = None


def same_address(a: str, b: str) -> bool:
    return bool(a) and a.strip().lower() == b.strip().lower()


def _addresses(message: EmailMessage, header: str) -> list[str]:
    values = [str(v) for v in message.get_all(header, [])]
    return [address for _, address in getaddresses(values) if address]


def _relay_problem(message: EmailMessage, relays: tuple[str, ...]) -> str | None:
    received = message.get_all("Received", [])
    if not received:
        return "it did not come through a trusted mail relay (no Received header)"
    m = _RECEIVED_FROM.match(" ".join(str(received[0])[:4000].split()))
    inside = m.group("inside") if m else ""
    ips = _BRACKETED_IP.findall(inside)
    name = inside.split()[0].lower().rstrip(".") if inside.split() else ""
    for entry in relays:
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            if name and name == entry.lower().rstrip("."):
                return None
            continue
        for ip in ips:
            try:
                if ipaddress.ip_address(ip) in network:
                    return None
            except ValueError:
                continue
    return "it did not come through a trusted mail relay"


def mail_sender(message: EmailMessage, relays: tuple[str, ...] = ()) -> Sender:
    """The From address of a mail and whether its headers let Ardis believe it (see the module text)."""
    try:
        froms = _addresses(message, "From")
        senders = _addresses(message, "Sender")
        paths = [str(v).strip() for v in message.get_all("Return-Path", [])]
    except (IndexError, ValueError, TypeError) as e:  # a header the parser cannot take apart
        return Sender("", f"its headers cannot be read ({type(e).__name__})")
    if len(froms) != 1 or len(message.get_all("From", [])) != 1:
        return Sender(froms[0] if froms else "", "it does not have exactly one From address")
    address = froms[0]
    if any(not same_address(s, address) for s in senders):
        return Sender(address, "its Sender is not its From address")
    for path in paths:
        envelope = [a for _, a in getaddresses([path]) if a]
        if len(envelope) != 1 or not same_address(envelope[0], address):
            return Sender(address, "its envelope sender (Return-Path) is not its From address")
    if relays:
        why = _relay_problem(message, relays)
        if why:
            return Sender(address, why)
    return Sender(address)
