"""The real peers of tests/integration (sshd, pyftpdlib, smbd) for the remote clients' contract."""

from tests.integration.conftest import ftp_target, smbd, sshd  # noqa: F401
