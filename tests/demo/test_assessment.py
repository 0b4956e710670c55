"""The demo's evaluation against hand labels, on records whose right answers are counted here."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from streams.categories import CATEGORIES
from streams.demo.assessment import WORST_MISSES, assess, assessment_lines, record_threshold
from streams.demo.run import Summary, evaluation_lines
from streams.models.scored import ScoredStatus, Timings, Usage, build_scored_status


def record(status_id: str, threshold: float = 0.5, **high: float) -> ScoredStatus:
    scores = dict.fromkeys(CATEGORIES, 0.05)
    scores.update(high)
    return build_scored_status(
        status_id, "nl", scores, threshold,
        backend="lexicon", model="lexicon", prompt_version="v1",
        usage=Usage(input_tokens=0, cached_input_tokens=0, output_tokens=0, cost_usd=0.0),
        timings=Timings(queued_ms=0.0, llm_ms=0.0, total_ms=0.0),
        scored_at=datetime(2025, 1, 1, tzinfo=UTC),
    )  # fmt: skip


#: Six posts: a hit with one right and one wrong category, a hit, a miss, a false alarm on a
#: category nobody labelled, and two benign posts left alone.
SCORED = {
    "1": record("1", threat=0.9, insult=0.6),
    "2": record("2", insult=0.7),
    "3": record("3", threat=0.3),
    "4": record("4", ableism=0.8),
    "5": record("5"),
    "6": record("6", insult=0.49),
}
LABELS = {
    "1": {"toxic", "threat"},
    "2": {"toxic", "insult"},
    "3": {"toxic", "threat", "extremism"},
    "4": set(),
    "5": set(),
    "6": set(),
}


def test_post_level_figures() -> None:
    result = assess(SCORED, LABELS)
    assert (result.posts, result.labelled_toxic, result.flagged) == (6, 3, 3)
    assert result.flagged_and_labelled == 2
    # Right: 1, 2 (flagged, labelled), 5, 6 (neither); wrong: 3 (missed), 4 (false alarm).
    assert (result.accuracy.correct, result.accuracy.cases) == (4, 6)
    assert result.precision == pytest.approx(2 / 3)
    assert result.recall == pytest.approx(2 / 3)
    assert result.f1 == pytest.approx(2 / 3)
    assert result.threshold == 0.5


def test_per_category_figures_only_where_some_post_is_labelled() -> None:
    figures = {f.category: f for f in assess(SCORED, LABELS).categories}
    assert list(figures) == ["toxic", "threat", "insult", "extremism"]
    threat = figures["threat"]
    assert (threat.support, threat.flagged, threat.true_positives) == (2, 1, 1)
    assert (threat.precision, threat.recall) == (1.0, 0.5)
    insult = figures["insult"]
    # Post 1 is flagged on insult without that label; post 6 stays just under the threshold.
    assert (insult.support, insult.flagged, insult.true_positives) == (1, 2, 1)
    assert (insult.precision, insult.recall) == (0.5, 1.0)
    assert figures["toxic"].flagged == 0 and figures["toxic"].recall == 0.0
    assert figures["toxic"].precision is None  # nothing flagged: undefined, not 0
    assert figures["extremism"].recall == 0.0


def test_flags_on_unlabelled_categories_are_counted_apart() -> None:
    assert assess(SCORED, LABELS).unsupported_flags == {"ableism": 1}


def test_misses_worst_first() -> None:
    scored = {**SCORED, "7": record("7", toxic=0.2), "8": record("8", racism=0.95)}
    labels = {**LABELS, "7": {"toxic"}, "8": set()}
    result = assess(scored, labels)
    # Most labels missed first, then the lowest score; false alarms by highest score.
    assert [m.status_id for m in result.false_negatives] == ["3", "7"]
    assert result.false_negatives[0].categories == ("toxic", "threat", "extremism")
    assert [m.status_id for m in result.false_positives] == ["8", "4"]
    assert result.false_positives[0].categories == ("racism",)


def test_unlabelled_and_unscored_posts_are_left_out_and_named() -> None:
    scored = {**SCORED, "99": record("99", threat=0.9)}
    labels = {**LABELS, "100": {"threat"}}
    result = assess(scored, labels)
    assert (result.unlabelled, result.unscored) == (("99",), ("100",))
    assert result.posts == 6
    assert result == assess(SCORED, LABELS).model_copy(
        update={"unlabelled": ("99",), "unscored": ("100",)}
    )


def test_records_of_different_thresholds_are_refused() -> None:
    with pytest.raises(ValueError, match="one threshold"):
        record_threshold([record("1", 0.5), record("2", 0.7)])


def test_a_record_flags_at_its_own_threshold() -> None:
    result = assess({"1": record("1", 0.3, threat=0.35)}, {"1": {"threat"}})
    assert result.threshold == 0.3
    assert (result.categories[0].true_positives, result.flagged) == (1, 1)


def test_nothing_scored_gives_undefined_figures() -> None:
    result = assess({}, LABELS)
    assert result.posts == 0 and result.threshold is None and result.categories == ()
    assert result.accuracy.accuracy is None and result.precision is None
    assert any("6 labelled posts not scored" in line for line in assessment_lines(result, "x"))


def test_lines_show_the_figures() -> None:
    lines = assessment_lines(assess(SCORED, LABELS), "the labels")
    text = "\n".join(lines)
    assert lines[0] == "evaluation against the labels: 6 posts, threshold 0.50"
    assert "posts labelled toxic: 3, flagged: 3, both: 2" in lines[1]
    assert "accuracy 66.7% (4/6), precision 0.67, recall 0.67, F1 0.67" in lines[1]
    threat_row = next(line for line in lines if line.startswith("threat "))
    assert threat_row.split() == ["threat", "2", "1", "1", "1.00", "0.50", "0.67"]
    toxic_row = next(line for line in lines if line.startswith("toxic "))
    assert toxic_row.split() == ["toxic", "3", "0", "0", "-", "0.00", "0.00"]
    assert "flagged in categories no post is labelled with: ableism 1" in text
    assert "labelled but not flagged: 1: 3 (toxic threat extremism; 0.30)" in text
    assert "flagged but labelled benign: 1: 4 (ableism; 0.80)" in text
    assert "left out" not in text


def test_lines_name_a_few_misses_and_count_the_rest() -> None:
    scored = {str(i): record(str(i), insult=0.9) for i in range(WORST_MISSES + 3)}
    lines = assessment_lines(assess(scored, {sid: set() for sid in scored}), "x")
    line = next(line for line in lines if "labelled benign" in line)
    assert line.count("(insult; 0.90)") == WORST_MISSES
    assert line.endswith(", and 3 more")


def test_without_scikit_learn_the_demo_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        "streams.evaluation.command.missing_libraries", lambda plot: ["scikit-learn"]
    )
    assert evaluation_lines(Summary()) == [
        "evaluation skipped: it needs scikit-learn (pip install 'streams[eval]')"
    ]


def test_the_demo_evaluates_an_empty_run_without_failing() -> None:
    lines = evaluation_lines(Summary())
    assert lines[0].endswith(": 0 posts, threshold -")
    assert lines[-1] == "left out: 0 scored posts without labels, 296 labelled posts not scored"
