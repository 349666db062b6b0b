"""``ardis dp validate``: a specification checked without merging — sources reachable, dictionaries loadable.

The schema and what it cannot say are :func:`parse_spec`'s (one problem per
JSON path). Then every ``FitsFileSource`` (``target.source`` first) is looked
for where its ``location`` says: a local file (no host, or ``localhost``) must
be a readable FITS file (its HDU headers are read, no data); a ``host:/path``
is reached over SFTP exactly as the merge run fetches it — the Airflow
connection ``ardis_dp_<host>``, the host key verified against the one on record
— and must be a plain file there. Every dictionary of ``keywordDictionaries``
must be found and parse. Nothing is fetched, merged or written.

The ``ardis`` command never imports Airflow, and Airflow's REST API gives no
connection's secrets; the command reads the connection the way Airflow itself
reads one defined in the environment (``AIRFLOW_CONN_ARDIS_DP_<HOST>``, JSON
or URI, :func:`environment_credentials`). A connection kept only in Airflow's
database cannot be used here: the source is then reported as not checked (a
problem), saying so.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distribution.errors import ArdisError, UserError
from distribution.orders.delivery import Credentials
from distribution.products._header import FitsLayoutError, scan_hdus
from distribution.products.assemble import CredentialsFor, source_endpoint
from distribution.products.dictionary import DictionaryError, find_dictionary, load_dictionaries
from distribution.products.spec import DpSpecification, FitsFileSource


@dataclass(frozen=True)
class Check:
    """One thing ``validate`` looked at: what, whether it is fine, and what it found."""

    what: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.what}: {self.detail}"


def connection_id(host: str) -> str:
    """The Airflow connection holding the credentials and host key for sources on ``host``."""
    return f"ardis_dp_{host}"


def _known_hosts(host: str, port: int | None, extra: dict[str, Any]) -> str | None:
    """The ``known_hosts`` or ``host_key`` extra as known_hosts text (as the merge run reads the connection)."""
    if extra.get("known_hosts"):
        return str(extra["known_hosts"])
    key = str(extra.get("host_key") or "").strip()
    if not key:
        return None
    return f"{f'[{host}]:{port}' if port and port != 22 else host} {key}\n"


def parse_airflow_connection(text: str) -> Credentials:
    """Credentials from an Airflow connection in its environment form: JSON, or a URI (``sftp://u:p@h:22/?host_key=…``)."""
    text = text.strip()
    if text.startswith("{"):
        try:
            doc = json.loads(text)
            extra = doc.get("extra") or {}
            extra = json.loads(extra) if isinstance(extra, str) else extra
            host, port = str(doc.get("host") or ""), int(doc["port"]) if doc.get("port") else None
            login, password = str(doc.get("login") or ""), str(doc.get("password") or "")
        except (ValueError, TypeError, AttributeError) as e:
            raise UserError(f"the connection is not Airflow's JSON form: {e}") from e
    else:
        uri = urllib.parse.urlsplit(text)
        try:
            host, port = uri.hostname or "", uri.port
        except ValueError as e:
            raise UserError(f"the connection is not an Airflow URI: {e}") from e
        login, password = urllib.parse.unquote(uri.username or ""), urllib.parse.unquote(uri.password or "")
        extra = dict(urllib.parse.parse_qsl(uri.query))
    if not isinstance(extra, dict):
        raise UserError("the connection's extra is not an object")
    private_key = extra.get("private_key")
    if not private_key and extra.get("key_file"):
        try:
            private_key = Path(str(extra["key_file"])).read_text()
        except OSError as e:
            raise UserError(f"the connection's key_file {extra['key_file']}: {e.strerror}") from e
    return Credentials(host=host, port=port, username=login, password=password,
                       private_key=str(private_key) if private_key else None,
                       known_hosts=_known_hosts(host, port, extra))


def environment_credentials(host: str) -> Credentials | None:
    """The connection ``ardis_dp_<host>`` as Airflow reads it from the environment; None when it is not there."""
    raw = os.environ.get(f"AIRFLOW_CONN_{connection_id(host).upper()}")
    return None if raw is None else parse_airflow_connection(raw)


def check_source(source: FitsFileSource, credentials_for: CredentialsFor | None = None) -> Check:
    """Is the source's file where its ``location`` says (a readable FITS file; remote: a plain file)?"""
    where = source.where
    what = f"source {source.source_name} ({source.location})"
    if where.is_local:
        path = Path(where.path)
        if not path.exists():
            return Check(what, False, f"{where.path} does not exist")
        if not path.is_file():
            return Check(what, False, f"{where.path} is not a plain file")
        try:
            spans = scan_hdus(path)
        except FitsLayoutError as e:
            return Check(what, False, f"not a FITS file: {e}")
        except OSError as e:
            return Check(what, False, f"cannot read {where.path}: {e.strerror}")
        return Check(what, True, f"FITS, {len(spans)} HDU{'s' if len(spans) > 1 else ''}, {path.stat().st_size} bytes")
    from distribution import remote

    try:
        endpoint = source_endpoint(where, credentials_for)
    except UserError as e:  # no usable connection: said as the resolver says it
        return Check(what, False, str(e))
    try:
        with remote.open_remote(endpoint) as files:
            size = files.size(where.path)
            if size is None:
                return Check(what, False, f"{where.path} does not exist on {where.host}")
            if files.is_dir(where.path):
                return Check(what, False, f"{where.path} on {where.host} is a directory, not a file")
    except (ArdisError, UserError) as e:
        return Check(what, False, f"not reached over SFTP (connection {connection_id(where.host)}): {e}")
    return Check(what, True, f"reached over SFTP as {endpoint.username or '?'}@{where.host} "
                             f"(host key verified), {size} bytes")


def check_dictionaries(names: Iterable[str], search: Iterable[Path]) -> list[Check]:
    """Each of ``keywordDictionaries`` found and parsed, on its own."""
    dirs = list(search)
    checks = []
    for name in names:
        try:
            path = find_dictionary(name, dirs)
            loaded = load_dictionaries([str(path)], dirs).loaded[0]
        except DictionaryError as e:
            checks.append(Check(f"dictionary {name}", False, str(e)))
            continue
        checks.append(Check(f"dictionary {name}", True, f"{loaded.name}, {len(loaded.entries)} keywords ({path})"))
    return checks


def check_spec(spec: DpSpecification, credentials_for: CredentialsFor | None,
               dictionary_dirs: Iterable[Path]) -> list[Check]:
    """Every check of a parsed specification, in its order: the sources (target first), then the dictionaries."""
    return ([check_source(s, credentials_for) for s in spec.file_sources()]
            + check_dictionaries(spec.keyword_dictionaries, dictionary_dirs))
