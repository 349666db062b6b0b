"""PostgreSQL restarted in the middle of a push: the delivery finishes, every file arrives once and whole, one DN.

The machine's shared PostgreSQL is never touched: a throwaway cluster (Debian's
``initdb``/``pg_ctl``, run as the ``postgres`` user when we are root) on a free
port is restarted (``pg_ctl restart -m fast``) by the FTP destination itself the
moment the second file has arrived, i.e. while the deliver step is between files.
The pooled connections are dead then; ``pool_pre_ping`` (distribution/db.py) and
the pool's invalidation on a disconnect error give the step fresh ones. Should a
try still break, the loop below retries it as Airflow would (OperationalError is
not a PermanentError, so the retry policy retries it).
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.ioloop import IOLoop
from pyftpdlib.servers import FTPServer
from sqlalchemy.exc import OperationalError

from distribution import db
from distribution.config import Settings
from distribution.db import session_scope
from distribution.orders.delivery import Credentials, deliver_request, stage_request, verify_request
from distribution.models import GranuleStatus, MediaType, RequestState
from distribution.notices.outbox import OutboxFolder
from distribution.orders.notify import notify_request
from distribution.orders.placing import Destination, RequestSpec, get_request
from devkit.peers import free_port
from tests.conftest import make_settings
from tests.dags.test_distribution_dag import archive, dn_of, order

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

BINDIRS = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


class Cluster:
    """A PostgreSQL cluster of its own in a temporary folder (trust auth on 127.0.0.1 only)."""

    def __init__(self, bindir: str, folder: Path) -> None:
        self.bindir, self.data, self.port = bindir, folder / "data", free_port()
        self.log = folder / "pg.log"
        self.url = f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, *args: str) -> None:
        command = [os.path.join(self.bindir, args[0]), *args[1:]]
        if os.geteuid() == 0:  # initdb refuses root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def pg_ctl(self, action: str, *extra: str) -> None:
        self.run("pg_ctl", action, "-D", str(self.data), "-l", str(self.log), "-w", *extra)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if not BINDIRS or shutil.which("runuser") is None:
        pytest.skip("no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="ardis-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    c = Cluster(BINDIRS[-1], folder)
    c.run("initdb", "-D", str(c.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    options = f"-c listen_addresses=127.0.0.1 -c port={c.port} -c unix_socket_directories={folder}"
    c.pg_ctl("start", "-o", options)
    try:
        yield c
    finally:
        db.get_engine(c.url).dispose()
        db.get_engine.cache_clear()
        c.pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(folder, ignore_errors=True)


def test_database_restart_in_the_middle_of_a_push(cluster: Cluster, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    db.upgrade(cluster.url)
    settings: Settings = make_settings(monkeypatch, tmp_path / "home", cluster.url)
    stores: Counter[str] = Counter()
    (tmp_path / "ftp" / "in").mkdir(parents=True)

    class RestartingHandler(FTPHandler):  # type: ignore[misc]
        def on_file_received(self, file: str) -> None:
            stores[Path(file).name] += 1
            if sum(stores.values()) == 2:
                cluster.pg_ctl("restart", "-m", "fast")  # the client waits for our 226 meanwhile

    authorizer = DummyAuthorizer()
    authorizer.add_user("u", "p", str(tmp_path / "ftp"), perm="elradfmwMT")
    RestartingHandler.authorizer = authorizer
    server = FTPServer(("127.0.0.1", 0), RestartingHandler, ioloop=IOLoop())
    thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.2, "handle_exit": False},
                              daemon=True)
    thread.start()
    try:
        port = int(server.socket.getsockname()[1])
        urs = archive(settings, tmp_path)
        request_id = order(settings, RequestSpec(MediaType.FTP_PUSH, urs, Destination("127.0.0.1", port, "/in")))
        stage_request(settings, request_id)
        verify_request(settings, request_id)
        credentials = Credentials("127.0.0.1", port, "u", "p")
        tries = 0
        while True:  # what Airflow's retries do
            tries += 1
            try:
                deliver_request(settings, request_id, credentials)
                break
            except OperationalError:
                assert tries < 5
        notify_request(settings, request_id, lambda: OutboxFolder(settings.outbox_dir))
    finally:
        server.close_all()
        thread.join(timeout=5)
    assert cluster.log.read_text().count("ready to accept connections") == 2  # it did restart mid-delivery
    with session_scope(settings.database_url) as session:
        request = get_request(session, request_id)
        assert request.state == RequestState.COMPLETE
        names = []
        for rg in request.granules:
            assert rg.status == GranuleStatus.DELIVERED
            for rf in rg.files:
                names.append(rf.dist_name)
                data = (tmp_path / "ftp" / "in" / rf.dist_name).read_bytes()
                assert len(data) == rf.granule_file.size
                if rf.granule_file.checksum_value:
                    assert hashlib.md5(data).hexdigest() == rf.granule_file.checksum_value
    assert set(stores) == set(names)
    assert set(stores.values()) == {1}, stores  # nothing sent twice
    assert dn_of(settings, request_id).failure in (None, "")
