"""Which checksums a DN carries (ICD 4.3.6.3, Table 4.3.6-1 FILECKSUMTYPE/FILECKSUMVALUE).

A user on the checksum distribution list (``users.checksum_list``) gets checksums for
``ARDIS_CHECKSUM_DN_PERCENT`` % of the files they receive (100 by default). Which files
is "not predictable": a file is in the share when HMAC-SHA256 of the archive's secret and
the file's archive id falls in it, so the user cannot tell which in advance, and the same
file makes the same choice on every DN that lists it (a resent DN, another order).
Checksums are given only for files of FILE_TYPE SCIENCE, HDF-EOS or HDF, only where one is
stored, and never for a file Ardis wrote for the request (the metadata in the user's format).
"""

from __future__ import annotations

import hashlib
import hmac

from distribution.checksums import picked
from distribution.config import Settings
from distribution.models import RequestFile
from distribution.secret import load_or_create_secret

#: "Checksumming is applied only to files of FILE_TYPE SCIENCE, HDF-EOS or HDF" (ICD 4.3.6.3).
CHECKSUMMED_FILE_TYPES = frozenset({"SCIENCE", "HDF-EOS", "HDF"})


def _key(settings: Settings) -> bytes:
    """A key of its own, derived from the archive's secret (never the secret itself)."""
    return hmac.new(load_or_create_secret(settings.home), b"dn-checksum-list", hashlib.sha256).digest()


def dn_checksum(settings: Settings, rf: RequestFile, on_list: bool) -> tuple[str | None, str | None]:
    """``(type, value)`` to print for this file on a DN, or ``(None, None)``."""
    gf = rf.granule_file
    if not on_list or rf.written or not gf.checksum_type or not gf.checksum_value:
        return None, None
    if gf.file_type.upper() not in CHECKSUMMED_FILE_TYPES:
        return None, None
    if not picked(f"file:{gf.id}", settings.checksum_dn_percent, _key(settings)):
        return None, None
    return gf.checksum_type, gf.checksum_value
