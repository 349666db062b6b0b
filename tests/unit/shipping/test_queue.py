"""The media queue and the drives, read from the volumes rows: SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from distribution.config import Settings
from distribution.db import session_scope
from distribution.models import MediaType, Order, Request, RequestState, User, Volume, VolumeState
from distribution.shipping.queue import STAGES, drive_states, media_queue, volume_ids

NOW = datetime(2026, 12, 7, 12, 0, 0)


def _request(session: Session, request_id: str, media: MediaType, states: list[VolumeState],
             age: timedelta = timedelta(hours=1), **fields: object) -> Request:
    user = session.query(User).filter_by(user_id="qu").one_or_none() or User(user_id="qu", email="q@example.org")
    order = Order(order_id="O" + request_id[1:], user=user, created_at=NOW - age)
    request = Request(request_id=request_id, order=order, media_type=media, created_at=NOW - age,
                      state=RequestState.DELIVERING, **fields)
    session.add(request)
    session.flush()
    for number, state in enumerate(states, 1):
        session.add(Volume(request_pk=request.id, number=number, count=len(states), media_id=f"{request_id}-{number}",
                           medium=media.value, state=state, planned_bytes=1000 * number,
                           drive="burner-1" if state is VolumeState.LOADED else "", media_serial="SN-7" if
                           state is VolumeState.LOADED else ""))
    return request


def test_media_queue_stages(settings: Settings) -> None:
    with session_scope(settings.database_url) as session:
        _request(session, "R000000001", MediaType.DVD, [VolumeState.PLANNED, VolumeState.BUILT, VolumeState.LOADED],
                 age=timedelta(hours=3))
        _request(session, "R000000002", MediaType.CDROM, [VolumeState.WRITTEN, VolumeState.VERIFIED, VolumeState.BAD])
        _request(session, "R000000003", MediaType.DLT, [VolumeState.BUILT])
        _request(session, "R000000004", MediaType.DVD, [VolumeState.VERIFIED], shipped_at=NOW)
        _request(session, "R000000005", MediaType.DVD, [VolumeState.BUILT]).state = RequestState.CANCELLED
    with session_scope(settings.database_url) as session:
        optical = media_queue(session, "optical", NOW)
        tape = media_queue(session, "tape", NOW)
    assert list(optical) == list(STAGES)
    assert [(v.media_id, v.number, v.count) for v in optical["to_build"]] == [
        ("R000000001-1", 1, 3), ("R000000002-3", 3, 3)]
    assert [v.media_id for v in optical["blank_media"]] == ["R000000001-2"]
    writing = optical["writing"][0]
    assert (writing.media_id, writing.drive, writing.media_serial, writing.size) == ("R000000001-3", "burner-1", "SN-7", 3000)
    assert writing.age_seconds == 3 * 3600
    assert [v.media_id for v in optical["read_back"]] == ["R000000002-1"]
    assert [v.media_id for v in optical["shipment"]] == ["R000000002-2"]  # R4 has shipped, R5 is cancelled
    assert [v.media_id for v in tape["blank_media"]] == ["R000000003-1"]
    assert sum(map(len, tape.values())) == 1


def test_drive_states(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARDIS_OPTICAL_DRIVES", "burner-1=virtual:/tmp/b1,burner-2=virtual:/tmp/b2,"
                                               "burner-3=/dev/ardis-no-such-drive")
    with session_scope(settings.database_url) as session:
        _request(session, "R000000001", MediaType.DVD, [VolumeState.LOADED])
    with session_scope(settings.database_url) as session:
        states = {d.name: d for d in drive_states(session, settings, "optical")}
        tapes = drive_states(session, settings, "tape")
    assert (states["burner-1"].state, states["burner-1"].media_serial, states["burner-1"].media_id) == (
        "loaded", "SN-7", "R000000001-1")
    assert states["burner-2"].state == "idle"
    assert states["burner-3"].state == "failed" and "not there" in states["burner-3"].detail
    assert [(d.name, d.state) for d in tapes] == [("tape-1", "idle")]


def test_volume_ids_of_a_request(settings: Settings) -> None:
    with session_scope(settings.database_url) as session:
        _request(session, "R000000001", MediaType.DVD, [VolumeState.VERIFIED, VolumeState.VERIFIED])
        _request(session, "R000000002", MediaType.DLT, [VolumeState.BUILT])
    with session_scope(settings.database_url) as session:
        assert volume_ids(session, "R000000001") == ["R000000001-1", "R000000001-2"]
        assert volume_ids(session, "R000000002") == ["R000000002-1"]
        assert volume_ids(session, "R000000009") == []
