"""Fetching ``host:/path`` sources over SFTP from a real OpenSSH sshd on 127.0.0.1; host keys verified."""

from __future__ import annotations

from pathlib import Path

import pytest

from distribution.orders.delivery import Credentials
from distribution.errors import ArdisError
from distribution.products import SourceMissing, fetch_source, parse_location
from tests.servers import foreign_known_hosts, run_sshd

pytestmark = pytest.mark.integration


def test_fetch_over_sftp_and_refuse_a_foreign_host_key(tmp_path: Path) -> None:
    source = tmp_path / "remote" / "fcs.fits"
    source.parent.mkdir()
    source.write_bytes(b"SIMPLE  =" + bytes(range(256)) * 40)
    with run_sshd(tmp_path / "sshd") as server:
        creds = Credentials(port=server.port, username=server.username, private_key=server.private_key,
                            known_hosts=server.known_hosts)
        got = fetch_source(parse_location(f"{server.host}:{source}"), tmp_path / "got" / "fcs.fits",
                           lambda host: creds if host == server.host else None)
        assert got.read_bytes() == source.read_bytes()
        with pytest.raises(SourceMissing, match="does not exist"):
            fetch_source(parse_location(f"{server.host}:{source}.gone"), tmp_path / "x.fits", lambda h: creds)
        spoofed = Credentials(**{**creds.__dict__, "known_hosts": foreign_known_hosts(server)})
        with pytest.raises(ArdisError, match="(?i)host key"):
            fetch_source(parse_location(f"{server.host}:{source}"), tmp_path / "y.fits", lambda h: spoofed)
