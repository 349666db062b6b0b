"""A person's answer is recorded once per step of a run; the first one counts (issue 10, defect 1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from distribution.answers import Answer, StepKey, record_answer, recorded_answer


def test_the_first_answer_of_a_step_counts(db_url: str) -> None:
    key = StepKey("request-0000000001", "volume.load", 0)
    assert recorded_answer(db_url, key) is None
    first = Answer(["burner-1"], {"media_serial": "S1"}, "op1",
                   datetime(2026, 12, 5, 13, 0, tzinfo=timezone(timedelta(hours=1))))
    kept = record_answer(db_url, key, first, "0000000001", try_number=1)
    assert kept == Answer(["burner-1"], {"media_serial": "S1"}, "op1", datetime(2026, 12, 5, 12, 0))
    again = record_answer(db_url, key, Answer(["burner-2"], {}, "op2", datetime.now(UTC)), "0000000001", 2)
    assert again == kept and recorded_answer(db_url, key) == kept
    other_volume = StepKey(key.run_id, key.step, 1)
    assert recorded_answer(db_url, other_volume) is None
    assert record_answer(db_url, other_volume, Answer(["burner-2"])).chosen_options == ["burner-2"]
