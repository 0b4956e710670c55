"""Version 3 of the scored record: raw and calibrated scores, boosts under their own key."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from streams.categories import CATEGORIES
from streams.models.scored import ScoredStatus, Timings, Usage, build_scored_status

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
RAW = dict.fromkeys(CATEGORIES, 0.1) | {"racism": 0.8}


def record(**fields: object) -> ScoredStatus:
    return build_scored_status(
        "42", "nl", fields.pop("scores", RAW), 0.5, backend="openai", model="m",
        prompt_version="v", usage=Usage(input_tokens=1, output_tokens=1),
        timings=Timings(queued_ms=0, llm_ms=0, total_ms=0), scored_at=NOW, **fields,  # type: ignore[arg-type]
    )  # fmt: skip


def test_without_calibration_the_raw_scores_are_the_scores() -> None:
    scored = record()
    assert scored.schema_version == 3
    assert scored.raw_scores == scored.scores and scored.calibration_version is None
    assert scored.flagged_categories == ("racism",)


def test_flagging_follows_the_calibrated_scores_and_keeps_the_raw_ones() -> None:
    calibrated = RAW | {"racism": 0.3}
    scored = record(scores=calibrated, raw_scores=RAW, calibration_version="cal-1")
    assert not scored.flagged and scored.overall == 0.3
    assert scored.raw_scores.as_dict()["racism"] == 0.8


def test_scores_that_differ_from_the_raw_ones_need_a_calibration_version() -> None:
    with pytest.raises(ValidationError, match="raw_scores"):
        record(scores=RAW | {"racism": 0.3}, raw_scores=RAW)


def test_a_boost_names_the_boosted_status() -> None:
    scored = record(reblog_of="7", response_format="json_object_schema")
    assert (scored.status_id, scored.reblog_of) == ("42", "7")
    assert ScoredStatus.model_validate_json(scored.to_bytes()) == scored


def test_a_version_2_record_reads_with_its_scores_as_the_raw_ones() -> None:
    old = record().model_dump(mode="json")
    for name in ("raw_scores", "calibration_version", "reblog_of", "response_format"):
        del old[name]
    old["schema_version"] = 2
    read = ScoredStatus.model_validate(old)
    assert read.schema_version == 3 and read.raw_scores == read.scores
