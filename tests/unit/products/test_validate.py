"""``ardis dp validate``: schema, sources reachable (local, and over SFTP from a real sshd), dictionaries loadable.

A report line per check on stdout, an ``ardis:`` line per problem on stderr,
exit 0 or 1; nothing is fetched, merged or written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from distribution.cli.main import main
from distribution.config import Settings
from distribution.products.check import parse_airflow_connection
from tests.airflow_rest import AirflowRest
from tests.servers import foreign_known_hosts, run_sshd
from tests.unit.products.fits_files import DATA, listing3

SPEC_ID = "TEST.2021-05-18T14:49:03.905"


@pytest.fixture(autouse=True)
def _setting(monkeypatch: pytest.MonkeyPatch, sqlite_settings: Settings) -> None:
    monkeypatch.setenv("ARDIS_DP_COLLECTIONS", "TEST=ELT_TEST.001")
    monkeypatch.delenv("ARDIS_AIRFLOW_URL", raising=False)


def validate(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], list[str]]:
    code = main(["dp", "validate", str(path)])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def write_spec(tmp_path: Path, doc: dict[str, object]) -> Path:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(doc, indent=2))
    return path


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def test_valid_local_specification(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc, dcs, fcs = listing3(tmp_path)
    doc["keywordDictionaries"] = ["instrument.did"]
    (tmp_path / "instrument.did").write_text("Dictionary Name: ESO-TEST\nParameter Name: TEL AIRM START\nType: double\n")
    spec = write_spec(tmp_path, doc)
    before = files_under(tmp_path)
    code, out, err = validate(spec, capsys)
    assert code == 0 and err == []
    assert out == [
        f"ok    source dcs (localhost:{dcs}): FITS, 2 HDUs, {dcs.stat().st_size} bytes",
        f"ok    source fcs ({fcs}): FITS, 3 HDUs, {fcs.stat().st_size} bytes",
        f"ok    dictionary instrument.did: ESO-TEST, 1 keywords ({tmp_path / 'instrument.did'})",
        "ok    collection: ELT_TEST.001",
        f"VALID: {SPEC_ID} -> {SPEC_ID}.fits (3 sources)",
    ]
    assert files_under(tmp_path) - {tmp_path / "ardis.db"} == before - {tmp_path / "ardis.db"}  # nothing written


def test_every_problem_is_reported_on_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    doc, dcs, _ = listing3(tmp_path)
    (tmp_path / "notfits.fits").write_bytes(b"plain text, not FITS\n" * 200)
    doc["sources"][2]["location"] = str(tmp_path / "notfits.fits")
    doc["target"]["source"]["location"] = f"localhost:{tmp_path / 'gone.fits'}"
    doc["keywordDictionaries"] = ["missing.did", "broken.did"]
    (tmp_path / "broken.did").write_text("Parameter Name: TEL AIRM START\nType: quaternion\n")
    monkeypatch.setenv("ARDIS_DP_COLLECTIONS", "OTHER=ELT_OTHER.001")
    code, out, err = validate(write_spec(tmp_path, doc), capsys)
    assert code == 1
    assert err == [
        f"ardis: source dcs (localhost:{tmp_path}/gone.fits): {tmp_path}/gone.fits does not exist",
        f"ardis: source fcs ({tmp_path}/notfits.fits): not a FITS file: notfits.fits is not a FITS file "
        "(no SIMPLE card)",
        f"ardis: dictionary missing.did: keyword dictionary missing.did not found in {tmp_path}, "
        f"{tmp_path}/home/dictionaries",
        "ardis: dictionary broken.did: broken.did line 1: TEL AIRM START: unknown Type 'quaternion'",
        "ardis: collection: no collection configured for instrument TEST: add TEST=ShortName.VVV to "
        "ARDIS_DP_COLLECTIONS",
    ]
    assert out[-1] == f"INVALID: {SPEC_ID}: 5 of 5 checks failed"


def test_schema_problems_one_line_each_and_the_published_listing3(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = validate(DATA / "listing3.json", capsys)  # as published: the trailing comma
    assert code == 1 and out == ["INVALID: 1 problem in the specification"]
    assert err == [f"ardis: {DATA / 'listing3.json'}: $: line 79 column 52: trailing comma (not allowed in JSON)"]
    code, out, err = validate(DATA / "listing2.json", capsys)  # placeholders
    assert code == 1 and out == ["INVALID: 3 problems in the specification"]
    assert [e.split(": ", 2)[2] for e in err] == ["$.target.source: 'location' is a required property",
                                                  "$.target.source: 'sourceName' is a required property",
                                                  "$.target.source: 'type' is a required property"]


def test_airflow_connection_forms() -> None:
    uri = parse_airflow_connection("sftp://eso%40dp:s%3Acret@fcs-host:2222/?host_key=ssh-ed25519+AAAAC3Nz")
    assert (uri.host, uri.port, uri.username, uri.password) == ("fcs-host", 2222, "eso@dp", "s:cret")
    assert uri.known_hosts == "[fcs-host]:2222 ssh-ed25519 AAAAC3Nz\n"
    as_json = parse_airflow_connection(json.dumps({"conn_type": "sftp", "host": "fcs-host", "login": "eso",
                                                   "extra": json.dumps({"host_key": "ssh-ed25519 AAAAC3Nz",
                                                                        "private_key": "PEM"})}))
    assert as_json.known_hosts == "fcs-host ssh-ed25519 AAAAC3Nz\n" and as_json.private_key == "PEM"


@pytest.mark.integration
def test_remote_sources_over_sftp_with_the_host_key_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    doc, dcs, fcs = listing3(tmp_path)
    with run_sshd(tmp_path / "sshd") as server:
        host = server.host
        doc["target"]["source"]["location"] = f"{host}:{dcs}"
        doc["sources"][2]["location"] = f"{server.username}@{host}:{fcs}"
        spec = write_spec(tmp_path, doc)
        env = f"AIRFLOW_CONN_ARDIS_DP_{host.upper()}"
        connection = {"conn_type": "sftp", "host": host, "port": server.port, "login": server.username,
                      "extra": {"private_key": server.private_key, "known_hosts": server.known_hosts}}
        monkeypatch.setenv(env, json.dumps(connection))
        code, out, err = validate(spec, capsys)
        assert code == 0 and err == [], err
        assert out[:2] == [
            f"ok    source dcs ({host}:{dcs}): reached over SFTP as {server.username}@{host} (host key verified), "
            f"{dcs.stat().st_size} bytes",
            f"ok    source fcs ({server.username}@{host}:{fcs}): reached over SFTP as {server.username}@{host} "
            f"(host key verified), {fcs.stat().st_size} bytes",
        ]

        doc["sources"][2]["location"] = f"{host}:{fcs}.gone"
        doc["target"]["source"]["location"] = f"{host}:{tmp_path}"
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        code, out, err = validate(write_spec(elsewhere, doc), capsys)
        assert code == 1 and err[:2] == [
            f"ardis: source dcs ({host}:{tmp_path}): {tmp_path} on {host} is a directory, not a file",
            f"ardis: source fcs ({host}:{fcs}.gone): {fcs}.gone does not exist on {host}",
        ]

        spoofed = {**connection, "extra": {"private_key": server.private_key,
                                           "known_hosts": foreign_known_hosts(server)}}
        monkeypatch.setenv(env, json.dumps(spoofed))
        code, out, err = validate(spec, capsys)
        assert code == 1 and len(err) == 2
        assert all(f"not reached over SFTP (connection ardis_dp_{host}): " in e and "host key" in e.lower()
                   for e in err), err

        monkeypatch.delenv(env)
        code, out, err = validate(spec, capsys)
        assert code == 1 and err[0] == (
            f"ardis: source dcs ({host}:{dcs}): not checked: no connection ardis_dp_{host} here ({env}) and Airflow was not asked (ARDIS_AIRFLOW_URL)")


def test_the_schema_is_published_and_strict_json_is_said(capsys: pytest.CaptureFixture[str]) -> None:
    from distribution.products import json_schema

    assert main(["dp", "schema"]) == 0
    assert json.loads(capsys.readouterr().out) == json_schema()
    with pytest.raises(SystemExit):
        main(["dp", "--help"])
    assert "trailing comma, as in the seed's Listing 3" in " ".join(capsys.readouterr().out.split())


def test_a_connection_kept_in_airflows_database_is_named_not_used(tmp_path: Path, airflow_client: AirflowRest,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Airflow's REST API is asked whether ardis_dp_<host> exists; its secrets never leave Airflow."""
    doc, dcs, _ = listing3(tmp_path)
    doc["sources"][2]["location"] = "fcs-host:/data/fcs.fits"
    spec = write_spec(tmp_path, doc)
    code, out, err = validate(spec, capsys)
    assert code == 1 and err == ["ardis: source fcs (fcs-host:/data/fcs.fits): Airflow connection ardis_dp_fcs-host "
                                 "is not defined: the merge run could not fetch from fcs-host"]
    airflow_client.add_connection("ardis_dp_fcs-host", {"conn_type": "sftp", "host": "fcs-host", "login": "eso",
                                                        "password": "not-for-the-ardis-command"})
    code, out, err = validate(spec, capsys)
    assert code == 1 and err == [
        "ardis: source fcs (fcs-host:/data/fcs.fits): not checked: Airflow connection ardis_dp_fcs-host is defined "
        "in Airflow, which does not give its secrets to the ardis command; set AIRFLOW_CONN_ARDIS_DP_FCS-HOST here "
        "to check it"]
    assert out[0].startswith("ok    source dcs") and "not-for-the-ardis-command" not in "".join(out + err)
