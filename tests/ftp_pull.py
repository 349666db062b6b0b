"""Download a pull directory with a real FTP client from Ardis's own pull server (started here, on 127.0.0.1)."""

from __future__ import annotations

import ftplib
import threading

from distribution.config import Settings
from distribution.ftpserver import build_pull_server, load_or_create_secret, pull_password


def pull(settings: Settings, login: str, ftp_dir: str) -> dict[str, bytes]:
    """Every file of ``ftp_dir``, by name, as the user ``login`` (an order's id) downloads it."""
    server = build_pull_server(settings.pull_root, "127.0.0.1", 0, load_or_create_secret(settings.home))
    port = server.socket.getsockname()[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"handle_exit": False}, daemon=True)
    thread.start()
    got: dict[str, bytes] = {}
    try:
        with ftplib.FTP() as ftp:
            ftp.connect("127.0.0.1", port, timeout=10)
            ftp.login(login, pull_password(load_or_create_secret(settings.home), login))
            ftp.cwd(ftp_dir)
            for name in ftp.nlst():
                chunks: list[bytes] = []
                ftp.retrbinary(f"RETR {name}", chunks.append)
                got[name] = b"".join(chunks)
    finally:
        server.close_all()
    return got
