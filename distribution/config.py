"""Settings of an Ardis installation, read from the environment.

Everything has an embedded default under ``ARDIS_HOME`` so that one command runs
Ardis on one machine; a real deployment overrides single values (database URL,
pull area, FTP host name, SMTP connection id). Credentials are never settings:
they come from Airflow Connections or the environment of the process that uses them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PREAMBLE = (
    "Thank you for using the Earth Observing System Distribution System.   "
    "For more information on your request please contact User Services. "
)

DEFAULT_FAILED_PREAMBLE = (
    "Your request could not be completed.   "
    "For more information on your request please contact User Services. "
)

#: Figure 4.3.6-3's preamble of the physical media DN (shipment).
DEFAULT_MEDIA_PREAMBLE = (
    "Thank you for using the Earth Observing System Distribution System.   "
    "For more information on your request contact the DAAC.   \n \n"
    "Please include the data below in any correspondence with the DAAC. \n \nThank You! "
)
#: Figure 4.3.6-4's preamble of the media order rejection notice.
DEFAULT_MEDIA_REJECTION_PREAMBLE = (
    "Thank you for using the Earth Observing System Distribution System.  We apologize for not being able "
    "to distribute the requested data.  For more information on your request contact the DAAC. \n  \nThank You! \n   "
)


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as e:
        raise ValueError(f"{name} must be an integer, not {raw!r}") from e


#: Seconds a peer may stay silent (connecting, logging in, or in the middle of a transfer) before
#: the try fails as retryable; ``ARDIS_NETWORK_TIMEOUT_SECONDS`` overrides it.
DEFAULT_NETWORK_TIMEOUT = 60.0


def network_timeout() -> float:
    """The network timeout setting, read now: every FTP, SFTP, scp and SMB client applies it."""
    raw = os.environ.get("ARDIS_NETWORK_TIMEOUT_SECONDS", "")
    try:
        value = float(raw) if raw.strip() else DEFAULT_NETWORK_TIMEOUT
    except ValueError as e:
        raise ValueError(f"ARDIS_NETWORK_TIMEOUT_SECONDS must be a number of seconds, not {raw!r}") from e
    if not 0 < value < 86400:
        raise ValueError(f"ARDIS_NETWORK_TIMEOUT_SECONDS must be between 0 and 86400, not {raw!r}")
    return value



def airflow_url() -> str:
    """``ARDIS_AIRFLOW_URL``, Airflow's api-server as the ``ardis`` command reaches it ('' when not set).

    Its credentials are not settings: ``ARDIS_AIRFLOW_TOKEN``, or ``ARDIS_AIRFLOW_USERNAME`` and
    ``ARDIS_AIRFLOW_PASSWORD``, are read from the environment when a call is made.
    """
    return os.environ.get("ARDIS_AIRFLOW_URL", "").strip().rstrip("/")

@dataclass(frozen=True)
class Settings:
    """Where Ardis keeps things and how it names and announces them."""

    home: Path
    database_url: str
    archive_root: Path
    staging_root: Path
    pull_root: Path
    outbox_dir: Path
    ingest_root: Path
    archive_name: str = "ARDIS"
    site_name: str = "ARDIS"
    id_prefix: str = "01"
    ftp_host: str = "127.0.0.1"
    ftp_port: int = 2121
    ftp_expiry_hours: int = 72
    ftp_login_mode: str = "order"
    preamble: str = DEFAULT_PREAMBLE
    failed_preamble: str = DEFAULT_FAILED_PREAMBLE
    mail_from: str = "ardis@localhost"
    smtp_conn_id: str = ""
    verify_workers: int = 0
    claim_lease_seconds: int = 120  # how long a push's claim on a file outlives its last heartbeat
    media_preamble: str = DEFAULT_MEDIA_PREAMBLE
    media_rejection_preamble: str = DEFAULT_MEDIA_REJECTION_PREAMBLE
    support_contacts: str = ""  # the media DN's Support Contacts block, one line each
    system_request_threshold: int = 0  # PDRs in flight archive-wide (Table 4.5-5); 0 = no limit
    system_volume_threshold: int = 0  # bytes in flight archive-wide; 0 = no limit
    maildir: Path | None = None  # incoming subscription e-mails (a Maildir); None: <home>/maildir
    subscription_relays: tuple[str, ...] = ()  # mail relays subscription e-mails must come through (trust.py)
    network_timeout: float = DEFAULT_NETWORK_TIMEOUT  # seconds; the transfer clients read network_timeout()
    metadata_format: str = "xml"  # the distributed metadata of a user with no setting of their own (ICD 4.3.6.2)
    checksum_dn_percent: int = 100  # share of files with checksums on the DN of a user on the checksum list
    operations_email: str = ""  # where operations are told what needs them (empty: mail_from)
    bundle_split_bytes: int = 0  # a bundle over this size goes in parts; 0: never split
    media_operators: tuple[str, ...] = ()  # Airflow user ids the media HITL steps are assigned to; (): any operator
    blank_media_alert_minutes: int = 120  # operations are told when a volume waits longer for a blank medium; 0: never

    def ensure_dirs(self) -> None:
        """Create the working folders of the embedded default if missing."""
        for path in (self.home, self.archive_root, self.staging_root, self.pull_root, self.outbox_dir,
                     self.ingest_root):
            path.mkdir(parents=True, exist_ok=True)


def _read_text_setting(name: str, default: str) -> str:
    """A preamble may be given inline or as ``@/path/to/file``."""
    value = _env(name, default)
    if value.startswith("@"):
        return Path(value[1:]).read_text(encoding="utf-8").rstrip("\n")
    return value


METADATA_FORMATS = ("xml", "met")


def _percent(name: str, default: int) -> int:
    value = _env_int(name, default)
    if not 0 <= value <= 100:
        raise ValueError(f"{name} must be 0 to 100, not {value}")
    return value


def metadata_format(value: str) -> str:
    """``xml`` or ``met`` (ODL), the two formats of distributed metadata (ICD 4.3.6.2)."""
    fmt = value.strip().lower().lstrip(".")
    fmt = "met" if fmt == "odl" else fmt
    if fmt not in METADATA_FORMATS:
        raise ValueError(f"metadata format must be xml or met (ODL), not {value!r}")
    return fmt


def load_settings() -> Settings:
    """Read the settings now (never at import time: tests change the environment)."""
    home = Path(_env("ARDIS_HOME", str(Path.home() / ".local" / "share" / "ardis"))).expanduser()
    prefix = _env("ARDIS_ID_PREFIX", "01")
    if not (prefix.isdigit() and 0 < len(prefix) <= 4):
        raise ValueError(f"ARDIS_ID_PREFIX must be 1 to 4 digits, not {prefix!r}")
    return Settings(
        home=home,
        database_url=_env("ARDIS_DATABASE_URL", f"sqlite:///{home / 'ardis.db'}"),
        archive_root=Path(_env("ARDIS_ARCHIVE_ROOT", str(home / "archive"))),
        staging_root=Path(_env("ARDIS_STAGING_ROOT", str(home / "staging"))),
        pull_root=Path(_env("ARDIS_PULL_ROOT", str(home / "pull"))),
        outbox_dir=Path(_env("ARDIS_OUTBOX_DIR", str(home / "outbox"))),
        ingest_root=Path(_env("ARDIS_INGEST_ROOT", str(home / "ingest"))),
        archive_name=_env("ARDIS_ARCHIVE_NAME", "ARDIS"),
        site_name=_env("ARDIS_SITE_NAME", "ARDIS"),
        id_prefix=prefix,
        ftp_host=_env("ARDIS_FTP_HOST", "127.0.0.1"),
        ftp_port=_env_int("ARDIS_FTP_PORT", 2121),
        ftp_expiry_hours=_env_int("ARDIS_FTP_EXPIRY_HOURS", 72),
        ftp_login_mode=_env("ARDIS_FTP_LOGIN_MODE", "order"),
        preamble=_read_text_setting("ARDIS_DN_PREAMBLE", DEFAULT_PREAMBLE),
        failed_preamble=_read_text_setting("ARDIS_DN_FAILED_PREAMBLE", DEFAULT_FAILED_PREAMBLE),
        mail_from=_env("ARDIS_MAIL_FROM", "ardis@localhost"),
        smtp_conn_id=_env("ARDIS_SMTP_CONN_ID", ""),
        verify_workers=_env_int("ARDIS_VERIFY_WORKERS", 0),
        claim_lease_seconds=_env_int("ARDIS_CLAIM_LEASE_SECONDS", 120),
        media_preamble=_read_text_setting("ARDIS_MEDIA_PREAMBLE", DEFAULT_MEDIA_PREAMBLE),
        media_rejection_preamble=_read_text_setting("ARDIS_MEDIA_REJECTION_PREAMBLE",
                                                    DEFAULT_MEDIA_REJECTION_PREAMBLE),
        support_contacts=_read_text_setting("ARDIS_SUPPORT_CONTACTS", ""),
        system_request_threshold=_env_int("ARDIS_SYSTEM_REQUEST_THRESHOLD", 0),
        system_volume_threshold=_env_int("ARDIS_SYSTEM_VOLUME_THRESHOLD", 0),
        maildir=Path(_env("ARDIS_MAILDIR", str(home / "maildir"))),
        subscription_relays=tuple(p for p in re.split(r"[\s,]+", _env("ARDIS_SUBSCRIPTION_RELAYS", "")) if p),
        network_timeout=network_timeout(),
        metadata_format=metadata_format(_env("ARDIS_METADATA_FORMAT", "xml")),
        checksum_dn_percent=_percent("ARDIS_CHECKSUM_DN_PERCENT", 100),
        operations_email=_env("ARDIS_OPERATIONS_EMAIL", ""),
        bundle_split_bytes=_env_int("ARDIS_BUNDLE_SPLIT_BYTES", 0),
        media_operators=tuple(p for p in re.split(r"[\s,]+", _env("ARDIS_MEDIA_OPERATORS", "")) if p),
        blank_media_alert_minutes=_env_int("ARDIS_BLANK_MEDIA_ALERT_MINUTES", 120),
    )
