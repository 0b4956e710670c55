from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.categories import CATEGORIES
from streams.harvest.policy import (
    PRECEDENCE,
    build_training_example,
    correction_size,
    deciding_correction,
    dedupe_corrections,
    merge_correction,
    stored_size,
)
from streams.models.corrections import Correction, FeedbackType, Source, TrainingExample

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
HARVESTED = datetime(2026, 3, 5, tzinfo=UTC)


def make(
    correction_id: str,
    source: str = "user_report",
    expected: Sequence[str] = ("toxic",),
    minutes: int = 0,
    **extra: Any,
) -> Correction:
    data: dict[str, Any] = {
        "correction_id": correction_id,
        "status_id": "s1",
        "feedback_type": "false_negative",
        "expected_categories": list(expected),
        "actual_categories": [],
        "source": source,
        "timestamp": T0 + timedelta(minutes=minutes),
    }
    data.update(extra)
    return Correction.model_validate(data)


def build(corrections: Sequence[Correction], text: str | None = "some post") -> TrainingExample:
    example = build_training_example("s1", corrections, text, "nl", harvested_at=HARVESTED)
    assert example is not None
    return example


def test_admin_override_beats_a_later_appeal_and_later_reports() -> None:
    corrections = [
        make("r1", "user_report", ["threat"], minutes=30),
        make("a1", "admin_override", ["insult"], minutes=0, feedback_type="false_positive"),
        make("p1", "appeal", [], minutes=20),
    ]
    example = build(corrections)
    assert example.decided_by == "admin_override"
    assert example.deciding_correction_id == "a1"
    assert example.corrected_to == ["insult"]
    assert example.feedback_type == "false_positive"
    assert {c: v for c, v in example.labels.items() if v} == {"insult": 1}


def test_appeal_beats_user_reports() -> None:
    example = build([make("r1", "user_report", ["threat"], 50), make("p1", "appeal", [], 10)])
    assert example.decided_by == "appeal"
    assert sum(example.labels.values()) == 0


def test_latest_within_a_level_wins_by_own_timestamp_not_arrival() -> None:
    older = make("a-late-arriving", "admin_override", ["racism"], minutes=5)
    newer = make("a-first", "admin_override", ["sexism"], minutes=10)
    for order in ([older, newer], [newer, older]):
        assert build(order).corrected_to == ["sexism"]


def test_timestamp_tie_is_broken_by_correction_id() -> None:
    a = make("a", "appeal", ["toxic"], minutes=1)
    b = make("b", "appeal", ["threat"], minutes=1)
    assert build([a, b]).deciding_correction_id == "b"
    assert build([b, a]).deciding_correction_id == "b"


def test_offsets_compare_as_instants() -> None:
    # 13:30+02:00 is 11:30Z, earlier than 12:00Z, although its wall clock is later.
    plus_two = timezone(timedelta(hours=2))
    early = make("x", "appeal", ["threat"], timestamp=datetime(2026, 3, 1, 13, 30, tzinfo=plus_two))
    late = make("y", "appeal", ["insult"], timestamp=datetime(2026, 3, 1, 12, tzinfo=UTC))
    assert build([late, early]).deciding_correction_id == "y"


def test_disagreeing_user_reports_are_contested_and_all_kept() -> None:
    reports = [make("r1", expected=["toxic"]), make("r2", expected=["threat"], minutes=1)]
    example = build(reports)
    assert example.contested is True
    assert example.decided_by == "user_report"
    assert [p.correction_id for p in example.provenance] == ["r1", "r2"]
    assert [p.expected_categories for p in example.provenance] == [["toxic"], ["threat"]]


def test_agreeing_reports_are_not_contested() -> None:
    reports = [make("r1", expected=["toxic", "insult"]), make("r2", expected=["insult", "toxic"])]
    assert build(reports).contested is False


def test_disagreement_overruled_by_a_higher_level_is_not_contested() -> None:
    reports = [make("r1", expected=["toxic"]), make("r2", expected=["threat"])]
    example = build([*reports, make("p1", "appeal", [])])
    assert example.contested is False
    assert len(example.provenance) == 3


def test_duplicates_count_once() -> None:
    r1 = make("r1", expected=["toxic"])
    example = build([r1, r1, make("r2", expected=["toxic"]), r1])
    assert [p.correction_id for p in example.provenance] == ["r1", "r2"]


def test_differing_copies_of_one_id_resolve_the_same_in_any_order() -> None:
    first = make("r1", expected=["toxic"], minutes=0)
    edited = make("r1", expected=["threat"], minutes=3)
    assert dedupe_corrections([first, edited]) == dedupe_corrections([edited, first]) == [edited]


def test_no_text_anywhere_returns_none() -> None:
    result = build_training_example("s1", [make("r1")], None, None, harvested_at=HARVESTED)
    assert result is None
    assert build_training_example("s1", [make("r1")], "  ", None, harvested_at=HARVESTED) is None


def test_text_comes_from_deciding_correction_then_cache_then_others() -> None:
    report = make("r1", text="report text", language="de")
    override = make("a1", "admin_override", text="override text", language="en")
    assert build([report, override], text="cache").text == "override text"
    bare_override = make("a1", "admin_override")
    assert build([report, bare_override], text="cache").text == "cache"
    example = build([report, bare_override], text=None)
    assert (example.text, example.language) == ("report text", "de")


def test_metadata_is_carried() -> None:
    example = build_training_example(
        "s1",
        [make("r1", minutes=3), make("r2", minutes=9)],
        "post",
        "en",
        scored_model="gpt-4o-mini",
        scored_prompt_version="v3",
        harvested_at=HARVESTED,
    )
    assert example is not None
    assert (example.scored_model, example.scored_prompt_version) == ("gpt-4o-mini", "v3")
    assert example.updated_at == T0 + timedelta(minutes=9)
    assert example.harvested_at == HARVESTED
    assert example.source == "platform_feedback"


def test_bad_calls_raise() -> None:
    with pytest.raises(ValueError, match="no corrections"):
        build_training_example("s1", [], "t", None, harvested_at=HARVESTED)
    other = make("x", status_id="s2")
    with pytest.raises(ValueError, match="status s2 passed for status s1"):
        build_training_example("s1", [make("r1"), other], "t", None, harvested_at=HARVESTED)
    with pytest.raises(ValueError, match="status s2"):
        merge_correction([make("r1")], other)


def test_merge_dedupes_and_keeps_chronological_order() -> None:
    merged: list[Correction] = []
    for c in [make("b", minutes=2), make("a", minutes=1), make("b", minutes=2)]:
        merged = merge_correction(merged, c)
    assert [c.correction_id for c in merged] == ["a", "b"]


def test_merge_bound_drops_lowest_ranked_first_and_keeps_the_decider() -> None:
    override = make("a1", "admin_override", ["insult"], minutes=0)
    merged: list[Correction] = [override]
    for i in range(10):
        merged = merge_correction(merged, make(f"r{i}", minutes=i + 1), limit=4)
    assert len(merged) == 4
    assert [c.correction_id for c in merged] == ["a1", "r7", "r8", "r9"]
    assert build(merged).deciding_correction_id == "a1"


def test_merge_bounds_the_stored_bytes_and_keeps_the_decider() -> None:
    # 100 reports of 5,000 CJK characters: 3 MB as escaped JSON, three times a changelog record.
    cjk = "\u8a00" * 5_000
    override = make("a1", "admin_override", ["insult"], minutes=0, text=cjk)
    merged: list[Correction] = [override]
    for i in range(100):
        merged = merge_correction(merged, make(f"r{i:03}", minutes=i + 1, text=cjk))
    size = stored_size([c.model_dump(mode="json") for c in merged])
    assert 400_000 < size <= 512 * 1024
    assert merged[0].correction_id == "a1"
    newest_reports = [f"r{i:03}" for i in range(100)][-(len(merged) - 1) :]
    assert [c.correction_id for c in merged[1:]] == newest_reports
    assert build(merged).deciding_correction_id == "a1"


def test_merge_refuses_a_decider_larger_than_the_bound() -> None:
    with pytest.raises(ValueError, match="alone takes"):
        merge_correction([], make("r1", text="x" * 2_000), max_bytes=1_000)


def test_merge_rejects_a_useless_limit() -> None:
    with pytest.raises(ValueError, match="limit"):
        merge_correction([], make("r1"), limit=0)


# --- properties -----------------------------------------------------------------------------

OFFSETS = [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))]


@st.composite
def correction_sets(draw: st.DrawFn) -> list[Correction]:
    """Distinct ids, few timestamps (to force ties), some exact redeliveries, random order."""
    ids = draw(st.lists(st.sampled_from("abcdefgh"), min_size=1, max_size=8, unique=True))
    corrections = [
        Correction(
            correction_id=cid,
            status_id="s1",
            feedback_type=draw(st.sampled_from(get_args(FeedbackType))),
            source=draw(st.sampled_from(get_args(Source))),
            expected_categories=draw(st.lists(st.sampled_from(CATEGORIES), max_size=3)),
            actual_categories=draw(st.lists(st.sampled_from(CATEGORIES), max_size=3)),
            text=draw(st.none() | st.just(f"text of {cid}")),
            timestamp=(T0 + timedelta(hours=draw(st.integers(0, 3)))).astimezone(
                draw(st.sampled_from(OFFSETS))
            ),
        )
        for cid in ids
    ]
    redelivered = draw(st.lists(st.sampled_from(corrections), max_size=4))
    return draw(st.permutations(corrections + redelivered))


@settings(max_examples=300, deadline=None)
@given(corrections=correction_sets(), shuffle=st.randoms(use_true_random=False))
def test_policy_properties(corrections: list[Correction], shuffle: Any) -> None:
    example = build(corrections, text="cached text")
    reordered = list(corrections)
    shuffle.shuffle(reordered)
    assert build(reordered, text="cached text") == example

    unique = {c.correction_id: c for c in corrections}
    assert sorted(p.correction_id for p in example.provenance) == sorted(unique)

    deciding = unique[example.deciding_correction_id]
    assert {c for c, v in example.labels.items() if v} == set(deciding.expected_categories)
    assert example.corrected_to == deciding.expected_categories
    top_level = max(PRECEDENCE[c.source] for c in unique.values())
    assert PRECEDENCE[deciding.source] == top_level
    peers = [c for c in unique.values() if PRECEDENCE[c.source] == top_level]
    latest = max(peers, key=lambda c: (c.timestamp, c.correction_id))
    assert deciding.correction_id == latest.correction_id
    if any(c.source == "admin_override" for c in unique.values()):
        assert example.decided_by == "admin_override"
        assert example.contested is False


@settings(max_examples=200, deadline=None)
@given(corrections=correction_sets(), shuffle=st.randoms(use_true_random=False))
def test_merge_is_independent_of_arrival_order(corrections: list[Correction], shuffle: Any) -> None:
    def fold(items: Sequence[Correction]) -> list[Correction]:
        merged: list[Correction] = []
        for c in items:
            merged = merge_correction(merged, c, limit=3, max_bytes=1_200)
        return merged

    reordered = list(corrections)
    shuffle.shuffle(reordered)
    merged = fold(corrections)
    assert merged == fold(reordered)
    assert deciding_correction(merged) == deciding_correction(corrections)


@given(corrections=correction_sets())
def test_an_example_built_unvalidated_is_what_validation_gives(
    corrections: list[Correction],
) -> None:
    example = build(corrections, text="cached text")
    validated = TrainingExample.model_validate(example.model_dump())
    assert validated == example
    assert validated.to_bytes() == example.to_bytes()
    assert TrainingExample.model_validate_json(example.to_bytes()) == example


def test_an_example_needs_a_zoned_harvest_time() -> None:
    with pytest.raises(ValueError, match="time zone"):
        build_training_example("s1", [make("r1")], "text", None, harvested_at=datetime(2026, 3, 5))
    local = datetime(2026, 3, 5, 14, tzinfo=timezone(timedelta(hours=2)))
    example = build_training_example("s1", [make("r1")], "text", None, harvested_at=local)
    assert example is not None and example.harvested_at == local
    assert example.harvested_at.utcoffset() == timedelta(0)


@given(corrections=correction_sets())
def test_the_correction_size_is_the_stored_size(corrections: list[Correction]) -> None:
    for correction in corrections:
        assert correction_size(correction) == stored_size(correction.model_dump(mode="json"))


@given(corrections=correction_sets())
def test_known_sizes_merge_as_measured_ones(corrections: list[Correction]) -> None:
    measured: list[Correction] = []
    known: list[Correction] = []
    for c in corrections:
        measured = merge_correction(measured, c, limit=3, max_bytes=1_200)
        sizes = {k.correction_id: correction_size(k) for k in known}
        known = merge_correction(
            known, c, limit=3, max_bytes=1_200, sizes=sizes, new_size=correction_size(c)
        )
        assert known == measured


def test_the_correction_size_counts_escapes() -> None:
    correction = make("é", text='hé "q" \\ \n\t\u2028 \U0001f600', reason="<&>")
    assert correction_size(correction) == stored_size(correction.model_dump(mode="json"))
    assert correction_size(correction) > len(correction.model_dump_json().encode())
