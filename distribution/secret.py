"""The archive's secret: the key of FTP pull logins, upload passwords and the DN checksum pick.

Its own module so that using it does not load the FTP server (pyftpdlib).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

SECRET_FILE = "ftp-secret"
SECRET_ENV = "ARDIS_FTP_SECRET"


def load_or_create_secret(home: Path) -> bytes:
    """The server secret: ``$ARDIS_FTP_SECRET``, else a random one kept in ``home/ftp-secret`` (mode 0600).

    The file is written whole under a temporary name and linked into place, so
    two processes starting at once agree on one secret and never read half of it.
    """
    env = os.environ.get(SECRET_ENV, "")
    if env:
        return env.encode()
    path = home / SECRET_FILE
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=home, prefix=".ftp-secret.")  # mkstemp creates it 0600
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another process won the race: use its secret
        finally:
            os.unlink(tmp)
    return path.read_text().strip().encode()
