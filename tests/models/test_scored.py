from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from streams.categories import CATEGORIES, Category
from streams.models.scored import (
    CategoryScores,
    ScoredStatus,
    SourceOffset,
    Timings,
    Usage,
    build_scored_status,
)

SCORED_AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def low_scores(**high: float) -> dict[str, float]:
    scores = dict.fromkeys(CATEGORIES, 0.01)
    scores.update(high)
    return scores


def build(
    scores: Mapping[str, float] | Mapping[Category, float], threshold: float = 0.5, **kw: Any
) -> ScoredStatus:
    fields: dict[str, Any] = {
        "backend": "openai",
        "model": "gpt-4o-mini",
        "prompt_version": "v1",
        "usage": Usage(input_tokens=120, cached_input_tokens=64, output_tokens=30, cost_usd=2e-5),
        "timings": Timings(queued_ms=5.0, llm_ms=800.0, total_ms=810.5),
        "scored_at": SCORED_AT,
    }
    fields.update(kw)
    return build_scored_status("42", "en", scores, threshold, **fields)


def test_score_fields_are_exactly_the_categories_in_canonical_order() -> None:
    assert tuple(CategoryScores.model_fields) == CATEGORIES


def test_flags_the_categories_at_or_above_the_threshold_in_canonical_order() -> None:
    # insult comes after threat in CATEGORIES; give them in the other order.
    rest = {k: v for k, v in low_scores(threat=0.93).items() if k != "insult"}
    scores = {"insult": 0.5, **rest}
    record = build(scores, threshold=0.5)
    assert record.flagged is True
    assert record.flagged_categories == (Category.THREAT, Category.INSULT)
    assert record.overall == 0.93
    assert record.scores.as_dict() == {name: scores[name] for name in CATEGORIES}


def test_nothing_flagged_below_the_threshold() -> None:
    record = build(low_scores(toxic=0.49), threshold=0.5)
    assert record.flagged is False
    assert record.flagged_categories == ()
    assert record.overall == 0.49


def test_category_enum_keys_are_accepted() -> None:
    scores = {Category(name): 0.2 for name in CATEGORIES}
    assert build(scores).overall == 0.2


@pytest.mark.parametrize(
    "bad",
    [
        {"toxic": 1.5},
        {"toxic": -0.01},
        {"toxic": math.nan},
        {"toxic": math.inf},
        {"toxic": "high"},
        {"slur": 0.2},
    ],
)
def test_invalid_scores_are_rejected(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        build(low_scores(**bad))


def test_missing_category_is_rejected_and_named() -> None:
    scores = low_scores()
    del scores["ableism"]
    with pytest.raises(ValidationError, match="ableism"):
        build(scores)


@pytest.mark.parametrize("threshold", [0.0, -0.1, 1.01, math.nan])
def test_invalid_threshold_is_rejected(threshold: float) -> None:
    with pytest.raises(ValidationError):
        build(low_scores(), threshold=threshold)


def test_record_round_trips_through_json() -> None:
    record = build(
        low_scores(hate_speech=0.7),
        edited=True,
        source=SourceOffset(topic="statuses.raw", partition=3, offset=1017),
    )
    again = ScoredStatus.model_validate_json(record.to_bytes())
    assert again == record
    wire = json.loads(record.to_bytes())
    assert wire["schema_version"] == 3
    assert wire["account_id"] is None
    assert wire["flagged_categories"] == ["hate_speech"]
    assert list(wire["scores"]) == list(CATEGORIES)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("overall", 0.2, "overall"),
        ("flagged", False, "flagged"),
        ("flagged_categories", ["insult", "threat"], "flagged_categories"),
        ("flagged_categories", ["threat"], "flagged_categories"),
    ],
)
def test_derived_fields_that_disagree_with_the_scores_are_rejected(
    field: str, value: Any, message: str
) -> None:
    data = json.loads(build(low_scores(threat=0.9, insult=0.8)).to_bytes())
    data[field] = value
    with pytest.raises(ValidationError, match=message):
        ScoredStatus.model_validate(data)


def test_the_author_is_carried_when_known_and_must_be_an_id() -> None:
    record = build(low_scores(), account_id="109876543210")
    assert json.loads(record.to_bytes())["account_id"] == "109876543210"
    for bad in ("", "two words", "x" * 129):
        with pytest.raises(ValidationError, match="account_id"):
            build(low_scores(), account_id=bad)


def test_unknown_field_is_rejected() -> None:
    data = json.loads(build(low_scores()).to_bytes())
    data["extra"] = 1
    with pytest.raises(ValidationError, match="extra"):
        ScoredStatus.model_validate(data)


def test_scored_at_needs_a_zone_and_is_stored_in_utc() -> None:
    with pytest.raises(ValidationError):
        build(low_scores(), scored_at=datetime(2024, 5, 1, 12, 0))
    record = build(
        low_scores(), scored_at=datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    )
    assert record.scored_at == SCORED_AT
    assert record.scored_at.utcoffset() == timedelta(0)


def test_usage_rejects_more_cached_than_input_tokens_and_negative_values() -> None:
    with pytest.raises(ValidationError, match="cached_input_tokens"):
        Usage(input_tokens=10, cached_input_tokens=11, output_tokens=0)
    with pytest.raises(ValidationError):
        Usage(input_tokens=-1, output_tokens=0)
    with pytest.raises(ValidationError):
        Usage(input_tokens=1, output_tokens=0, cost_usd=math.nan)


def test_records_are_immutable() -> None:
    record = build(low_scores())
    with pytest.raises(ValidationError):
        record.overall = 1.0  # type: ignore[misc]


scores_strategy = st.fixed_dictionaries(
    {name: st.floats(min_value=0.0, max_value=1.0) for name in CATEGORIES}
)


@given(scores_strategy, st.floats(min_value=0.01, max_value=1.0))
def test_flagging_follows_the_threshold_for_any_scores(
    scores: dict[str, float], threshold: float
) -> None:
    record = build(scores, threshold=threshold)
    assert record.overall == max(scores.values())
    assert record.flagged == (record.overall >= threshold)
    for name in CATEGORIES:
        assert (Category(name) in record.flagged_categories) == (scores[name] >= threshold)
    assert ScoredStatus.model_validate_json(record.to_bytes()) == record
