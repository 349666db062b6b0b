"""Notices Ardis sends, each format a module with its parser and writer, and the outbox that sends them once.

* dn.py — the Distribution Notice (ICD Table 4.3.6-1): ``render_dn`` / ``parse_dn``
* media_dn.py — the physical media DN and rejection (Table 4.3.6-2): ``render_media_dn`` / ``parse_media_dn``
* packing_list.py — the packing list PDF of a shipment (ReportLab): ``write_packing_list``
* outbox.py — queue a notice once per dedupe key (``enqueue_notice``), send by SMTP or into a folder

The PAN and PDRD are ingest's answers to a provider (``distribution.ingest.pan``); subscription
messages are ``distribution.subscriptions``'.
"""

from __future__ import annotations

from distribution.notices.dn import DistributionNotice, DnFile, DnGranule, dn_subject, parse_dn, render_dn
from distribution.notices.media_dn import (
    MediaFile,
    MediaGranule,
    MediaNotice,
    MediaVolume,
    media_dn_subject,
    media_notice_subject,
    media_rejection_subject,
    parse_media_dn,
    render_media_dn,
)
from distribution.notices.outbox import OutboxFolder, SmtpTransport, Transport, enqueue_notice, send_pending

__all__ = [
    "DistributionNotice",
    "DnFile",
    "DnGranule",
    "MediaFile",
    "MediaGranule",
    "MediaNotice",
    "MediaVolume",
    "OutboxFolder",
    "SmtpTransport",
    "Transport",
    "dn_subject",
    "enqueue_notice",
    "media_dn_subject",
    "media_notice_subject",
    "media_rejection_subject",
    "parse_dn",
    "parse_media_dn",
    "render_dn",
    "render_media_dn",
    "send_pending",
]
