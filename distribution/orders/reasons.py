"""What a user may read about a failure: the reason, never the archive's paths or addresses.

An error's text is written for the operator (``archive file is missing:
/srv/ardis/archive/…``, ``cannot connect to ftp://10.0.0.7:2121/in``); the
operator's log keeps it whole. A notice carries ``public_reason(error)``: the
same sentence with every URL replaced by "the destination", every absolute path
of two or more parts by its last name, and errno prefixes dropped, on one line.
"""

from __future__ import annotations

import re

_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S*[^\s.,;:)'\"]")
_PATH = re.compile(r"(?<![\w.~/-])/(?:[^\s/:;,'\"()]+/)+([^\s/:;,'\"()]+)/?")
_ERRNO = re.compile(r"\[(?:Errno|WinError) -?\d+\]\s*")
_LIMIT = 240


def scrub(text: str) -> str:
    """``text`` on one line, without URLs, absolute paths or ``[Errno n]``; at most about 240 characters."""
    text = _URL.sub("the destination", text)
    text = _PATH.sub(lambda m: m.group(1), text)
    text = " ".join(_ERRNO.sub("", text).split())
    return text if len(text) <= _LIMIT else text[: _LIMIT - 3].rstrip() + "..."


def public_reason(error: BaseException) -> str:
    """The user's reason for ``error`` (its scrubbed text, or its type when it has none)."""
    return scrub(str(error)) or type(error).__name__
