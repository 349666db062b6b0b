"""Download a pull directory with a real FTP client from Ardis's own pull server (started here, on 127.0.0.1)."""

from __future__ import annotations

import ftplib
import threading
from typing import Any

from distribution.config import Settings
from distribution.db import session_scope
from distribution.orders.pull_server import build_pull_server, load_or_create_secret, pull_password
from distribution.models import MediaType, RequestState
from distribution.orders.placing import Contact, RequestSpec, create_order, get_request


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


def order_and_pull(dagbag: Any, settings: Settings, ur: str, contact: Contact) -> dict[str, bytes]:
    """Order one granule by FtpPull, carry the request through a real ``ardis_distribution`` run, download it."""
    from tests.dags.conftest import run_dag, task_states

    with session_scope(settings.database_url) as session:
        order = create_order(session, settings, contact, [RequestSpec(MediaType.FTP_PULL, [ur])])
        request_id = str(order.requests[0].request_id)
    dist = run_dag(dagbag, "ardis_distribution", {"request_id": request_id})
    assert task_states(dist)["outcome"] == "success"
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        assert request.state == RequestState.COMPLETE
        login, ftp_dir = str(request.order.order_id), str(request.ftp_dir)
    return pull(settings, login, ftp_dir)
