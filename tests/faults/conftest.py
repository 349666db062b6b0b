"""Shared pieces of the fault suite: peers that misbehave on 127.0.0.1.

``silent_peer()`` accepts TCP connections and never says a word (a host whose
service hangs). ``stalling_proxy(port, after)`` relays to a real server and then,
once ``after`` bytes went through (either way), stops relaying in both directions
while keeping both sockets open: a peer that answers the greeting, then stalls in
the middle of a transfer. ``stalling_ftp_server(root, after)`` is a real FTP
server whose data connections do the same (FTP data does not pass a proxy on the
control port). All stop when their block ends. Kept small: the other fault-suite
files do not depend on it.
"""

from __future__ import annotations

import selectors
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import DTPHandler, FTPHandler
from pyftpdlib.ioloop import IOLoop
from pyftpdlib.servers import FTPServer

from devkit.peers import FtpServer


@contextmanager
def _accepting(name: str, on_accept: Callable[[socket.socket, threading.Event], None]) -> Iterator[int]:
    """A loopback listener handing each connection to ``on_accept``; yields the port, closes all at the end."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn = server.accept()[0]
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)
            on_accept(conn, stop)

    thread = threading.Thread(target=serve, name=name, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()
        for conn in held:
            conn.close()


def silent_peer() -> AbstractContextManager[int]:
    """A loopback port that accepts every connection and then never answers; yields the port."""
    return _accepting("silent-peer", lambda conn, stop: None)  # kept open, never read or written


def stalling_proxy(target_port: int, after: int) -> AbstractContextManager[int]:
    """A relay to ``127.0.0.1:target_port`` that goes silent after ``after`` bytes; yields its port."""

    def relay(client: socket.socket, stop: threading.Event) -> None:
        moved = 0
        with socket.create_connection(("127.0.0.1", target_port)) as upstream, selectors.DefaultSelector() as sel:
            sel.register(client, selectors.EVENT_READ, upstream)
            sel.register(upstream, selectors.EVENT_READ, client)
            while not stop.is_set():
                for key, _ in sel.select(0.2):
                    src: socket.socket = key.fileobj  # type: ignore[assignment]
                    data = src.recv(1 << 16)
                    if not data:
                        return
                    data = data[: max(0, after - moved)]
                    moved += len(data)
                    key.data.sendall(data)
                    if moved >= after:  # from now on: read nothing, send nothing, hang up never
                        stop.wait()
                        return

    return _accepting("stalling-proxy", lambda client, stop: threading.Thread(
        target=relay, args=(client, stop), name="stalling-relay", daemon=True).start())


@contextmanager
def stalling_ftp_server(root: Path, after: int, username: str = "u", password: str = "p") -> Iterator[FtpServer]:
    """A writable pyftpdlib server whose data connections stop after ``after`` bytes (the control one answers)."""

    class StallingDTP(DTPHandler):  # type: ignore[misc]
        moved = 0
        stalled = False

        def use_sendfile(self) -> bool:
            return False

        def _count(self, n: int) -> None:
            self.moved += n
            if self.moved >= after and not self.stalled:
                self.stalled = True
                self.del_channel()  # the socket stays open; nobody reads or writes it again

        def recv(self, buffer_size: int) -> Any:
            chunk = super().recv(buffer_size)
            self._count(len(chunk))
            return chunk

        def send(self, data: Any) -> int:
            sent = int(super().send(data))
            self._count(sent)
            return sent

    authorizer = DummyAuthorizer()
    authorizer.add_user(username, password, str(root), perm="elradfmwMT")
    handler = type("StallingHandler", (FTPHandler,), {"authorizer": authorizer, "dtp_handler": StallingDTP})
    server = FTPServer(("127.0.0.1", 0), handler, ioloop=IOLoop())
    thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.2, "handle_exit": False},
                              name="stalling-ftp", daemon=True)
    thread.start()
    try:
        yield FtpServer("127.0.0.1", int(server.socket.getsockname()[1]), username, password, root)
    finally:
        server.close_all()
        thread.join(timeout=5)
