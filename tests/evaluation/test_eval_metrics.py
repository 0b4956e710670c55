"""The evaluation's figures on arrays small enough to work out by hand."""

from __future__ import annotations

import pytest

from streams.evaluation.metrics import (
    accuracy_by,
    accuracy_cell,
    average_precision,
    category_figures,
    expected_calibration_error,
    precision_recall_f1,
    reliability_bins,
    usage_figures,
)
from streams.scoring.backend import TokenUsage


def test_precision_recall_f1_at_the_threshold() -> None:
    labels = [1, 1, 0, 0, 1]
    scores = [0.9, 0.4, 0.6, 0.1, 0.5]  # 0.5 is flagged: the threshold is inclusive
    figures = category_figures("toxic", labels, scores, threshold=0.5)
    # flagged: cases 0, 2, 4 -> tp 2 (0, 4), fp 1 (2), fn 1 (1)
    assert (figures.flagged, figures.true_positives, figures.support) == (3, 2, 3)
    assert figures.precision == pytest.approx(2 / 3)
    assert figures.recall == pytest.approx(2 / 3)
    assert figures.f1 == pytest.approx(2 / 3)


def test_undefined_figures_are_none_not_zero() -> None:
    # Nothing flagged: precision is undefined; recall 0 of 1 positive is a real 0.
    assert precision_recall_f1([1, 0], [0, 0]) == (None, 0.0, 0.0)
    # No positive and nothing flagged: neither precision nor recall means anything.
    assert precision_recall_f1([0, 0], [0, 0]) == (None, None, None)
    assert precision_recall_f1([], []) == (None, None, None)
    assert average_precision([0, 0], [0.3, 0.9]) is None
    assert expected_calibration_error([], []) is None


def test_average_precision_by_hand() -> None:
    # Ranked by score: 1 (precision 1/1), 0, 1 (precision 2/3), 0 -> AP = (1 + 2/3) / 2.
    assert average_precision([1, 0, 1, 0], [0.9, 0.8, 0.3, 0.1]) == pytest.approx(5 / 6)
    # A perfect ranking has AP 1 whatever the threshold.
    assert average_precision([0, 1, 1], [0.2, 0.3, 0.4]) == pytest.approx(1.0)


def test_expected_calibration_error_by_hand() -> None:
    labels = [0, 0, 1, 0]
    scores = [0.05, 0.15, 0.95, 0.95]
    # bin 0: |0 - 0.05| * 1/4; bin 1: |0 - 0.15| * 1/4; bin 9: |0.5 - 0.95| * 2/4
    expected = 0.05 / 4 + 0.15 / 4 + 0.45 / 2
    assert expected_calibration_error(labels, scores) == pytest.approx(expected)
    # Scores equal to the observed rate in every bin: perfectly calibrated.
    assert expected_calibration_error([1, 0], [0.5, 0.5]) == pytest.approx(0.0)


def test_reliability_bins_are_equal_width_and_keep_one_in_the_last() -> None:
    bins = reliability_bins([1, 0, 1], [1.0, 0.1, 0.0999])
    assert len(bins) == 10 and bins[0].lower == 0.0 and bins[-1].upper == 1.0
    assert [b.count for b in bins] == [1, 1, 0, 0, 0, 0, 0, 0, 0, 1]
    assert bins[9].positive_rate == 1.0 and bins[9].mean_score == 1.0
    assert bins[1].positive_rate == 0.0
    assert bins[5].mean_score is None and bins[5].positive_rate is None


def test_accuracy_groups() -> None:
    items = [("a", True), ("a", False), ("b", True), (None, False)]
    cells = accuracy_by(items, key=lambda i: i[0], correct=lambda i: i[1])
    assert [(c.name, c.cases, c.correct, c.accuracy) for c in cells] == [
        ("a", 2, 1, 0.5),
        ("b", 1, 1, 1.0),
    ]
    assert accuracy_cell("empty", []).accuracy is None


def test_usage_per_thousand_posts() -> None:
    usage = TokenUsage(input_tokens=5000, cached_input_tokens=1000, output_tokens=300)
    figures = usage_figures(usage, cost_usd=0.02, calls=4, posts=250)
    assert figures.input_tokens_per_1000 == pytest.approx(20_000)
    assert figures.output_tokens_per_1000 == pytest.approx(1200)
    assert figures.cost_usd_per_1000 == pytest.approx(0.08)
    assert usage_figures(TokenUsage(), 0.0, 0, posts=0).cost_usd_per_1000 is None
