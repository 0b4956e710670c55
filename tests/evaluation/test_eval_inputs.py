"""Reading labelled files: the suite mapping, bad rows counted with their line, spread samples."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from streams.categories import CATEGORIES, Category
from streams.evaluation.cases import (
    EvaluationInputError,
    LabelledCase,
    spread_sample,
)
from streams.evaluation.mapping import (
    GROUP_CATEGORIES,
    TARGET_CATEGORIES,
    functionality_group,
    suite_labels,
    suite_language,
)
from streams.evaluation.run import read_cases
from streams.models.corrections import ProvenanceEntry, TrainingExample, label_vector


def test_hateful_case_labels_hate_speech_and_its_targets_category_only() -> None:
    labels, mapped = suite_labels(True, "Women")
    assert mapped
    assert labels["hate_speech"] == 1 and labels["sexism"] == 1
    assert all(labels[g.value] == 0 for g in GROUP_CATEGORIES if g != Category.SEXISM)
    # A suite case says nothing certain about these: unlabelled, not 0.
    for category in ("toxic", "threat", "insult", "dehumanization", "extremism"):
        assert category not in labels


@pytest.mark.parametrize(
    ("target", "category"),
    [("women", "sexism"), ("gay people", "homophobia"), ("trans people", "homophobia"),
     ("black people", "racism"), ("immigrants", "racism"), ("Muslims", "islamophobia"),
     ("Jews", "antisemitism"), ("disabled people", "ableism")],
)  # fmt: skip
def test_every_target_of_the_brief(target: str, category: str) -> None:
    labels, _ = suite_labels(True, target)
    assert [c for c in CATEGORIES if labels.get(c) == 1] == ["hate_speech", category]


def test_non_hateful_is_zero_for_hate_and_every_group() -> None:
    labels, _ = suite_labels(False, "women")
    assert labels == {"hate_speech": 0, **{g.value: 0 for g in GROUP_CATEGORIES}}


def test_unknown_target_labels_hate_speech_only() -> None:
    assert suite_labels(True, "pirates") == ({"hate_speech": 1}, False)
    assert suite_labels(True, None) == ({"hate_speech": 1}, False)


def test_mapping_names_real_categories() -> None:
    assert set(TARGET_CATEGORIES.values()) <= set(GROUP_CATEGORIES)
    assert {c.value for c in GROUP_CATEGORIES} <= set(CATEGORIES)


def test_groups_and_languages() -> None:
    assert functionality_group("counter_quote_nh") == "counter-speech"
    assert functionality_group("negate_pos_h") == "negation"
    assert functionality_group("slur_h") is None and functionality_group(None) is None
    assert suite_language("dutch-17") == "nl" and suite_language(None) == "en"


SUITE = """\
mhc_case_id,functionality,test_case,label_gold,target_ident
dutch-1,derog_neg_emote_h,Ik haat vrouwen. ,hateful,women
dutch-2,ident_neutral_nh,Ik ken veel vrouwen.,non-hateful,women
dutch-3,slur_h,,hateful,women
dutch-4,slur_h,Iets,maybe,women
dutch-5,derog_neg_emote_h,Ik haat piraten.,hateful,pirates
dutch-6,profanity_nh,Verdomme wat een dag,NON-HATEFUL,
"""


def test_suite_rows_become_cases_and_bad_rows_are_listed(tmp_path: Path) -> None:
    path = tmp_path / "suite.csv"
    path.write_text(SUITE, encoding="utf-8")
    read = read_cases(path)
    summary = read.summary
    assert (summary.rows, summary.cases, summary.skipped) == (6, 4, 2)
    assert [(s.line, s.reason.split(":")[0]) for s in summary.skipped_rows] == [
        (4, "test_case"), (5, "label_gold"),
    ]  # fmt: skip
    assert dict(summary.unmapped_targets) == {"pirates": 1}
    first = read.cases[0]
    assert first.text == "Ik haat vrouwen." and first.language == "nl"
    assert first.case_id == "suite.csv:2" and first.hateful is True
    assert first.functionality == "derog_neg_emote_h" and first.target == "women"
    assert read.cases[-1].hateful is False and read.cases[-1].target is None


def test_a_file_without_the_columns_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("text,label\nhello,1\n", encoding="utf-8")
    with pytest.raises(EvaluationInputError, match=r"other\.csv.*label_gold"):
        read_cases(path)
    with pytest.raises(EvaluationInputError, match="extension"):
        read_cases(path.rename(tmp_path / "other.txt"))
    with pytest.raises(EvaluationInputError, match="no such file"):
        read_cases(tmp_path / "missing.csv")


def _training_example(status_id: str, text: str, expected: list[str]) -> TrainingExample:
    when = datetime(2026, 3, 1, 12, tzinfo=UTC)
    entry = ProvenanceEntry(correction_id=f"c{status_id}", source="admin_override",
                            timestamp=when, feedback_type="false_negative",
                            expected_categories=expected)  # fmt: skip
    return TrainingExample(
        status_id=status_id, text=text, language="nl", labels=label_vector(expected),
        feedback_type="false_negative", original_prediction=[], corrected_to=expected,
        contested=False, decided_by="admin_override", deciding_correction_id=f"c{status_id}",
        provenance=[entry], updated_at=when, harvested_at=when,
    )  # fmt: skip


def test_training_examples_as_the_harvester_writes_them(tmp_path: Path) -> None:
    path = tmp_path / "harvest_20260301.jsonl"
    lines = [
        _training_example("1", "linkse ratten", ["dehumanization", "insult"]).to_bytes(),
        b"",  # blank lines are ignored
        b"not json",
        json.dumps({"text": "own file", "labels": {"Toxic": 1, "insult": 0}}).encode(),
        json.dumps({"text": "x", "labels": {"rudeness": 1}}).encode(),
        json.dumps({"labels": {"toxic": 1}}).encode(),
    ]
    path.write_bytes(b"\n".join(lines) + b"\n" + b'{"text": "torn')
    read = read_cases(path)
    assert [c.case_id for c in read.cases] == ["harvest_20260301.jsonl:1",
                                               "harvest_20260301.jsonl:4"]  # fmt: skip
    harvested, own = read.cases
    assert harvested.labels == {c: int(c in ("dehumanization", "insult")) for c in CATEGORIES}
    assert harvested.language == "nl" and harvested.hateful is False
    assert own.labels == {"toxic": 1, "insult": 0} and own.hateful is None
    summary = read.summary
    assert (summary.rows, summary.cases, summary.skipped) == (6, 2, 4)
    reasons = {s.line: s.reason for s in summary.skipped_rows}
    assert set(reasons) == {3, 5, 6, 7}
    assert "not JSON" in reasons[3] and "rudeness" in reasons[5] and "text" in reasons[6]
    assert "unterminated" in reasons[7]


def test_spread_sample_keeps_every_part_of_a_sorted_file() -> None:
    cases = [LabelledCase(str(i), "t", {}, functionality=f"f{i // 10}") for i in range(100)]
    sample = spread_sample(cases, 20)
    assert len(sample) == 20 and {c.functionality for c in sample} == {f"f{i}" for i in range(10)}
    assert spread_sample(cases, None) is cases and spread_sample(cases, 500) is cases
