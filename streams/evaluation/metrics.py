"""Pure figures from (label, score) pairs: precision, recall, F1, PR-AUC, calibration, accuracy.

A case is flagged on a category when its score is at or above the threshold (as the worker
flags). Precision, recall and average precision come from scikit-learn (imported when first
needed, so importing this module stays cheap); calibration error and accuracy are counted here.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from streams.evaluation.results import (
    AccuracyCell,
    CategoryFigures,
    ReliabilityBin,
    UsageFigures,
)
from streams.scoring.backend import TokenUsage

T = TypeVar("T")

#: Bins of the expected calibration error and the reliability diagram.
CALIBRATION_BINS = 10


def _none_if_nan(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def precision_recall_f1(
    labels: Sequence[int], flags: Sequence[int]
) -> tuple[float | None, float | None, float | None]:
    """Precision, recall and F1 of binary ``flags`` against ``labels``; None where undefined."""
    if not labels:
        return None, None, None
    from sklearn.metrics import precision_recall_fscore_support  # type: ignore[import-untyped]

    precision, recall, f1, _ = precision_recall_fscore_support(
        labels, flags, average="binary", pos_label=1, zero_division=math.nan
    )
    return _none_if_nan(precision), _none_if_nan(recall), _none_if_nan(f1)


def average_precision(labels: Sequence[int], scores: Sequence[float]) -> float | None:
    """Area under the precision-recall curve (average precision); None without a positive."""
    if not any(labels):
        return None
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(labels, scores))


def reliability_bins(
    labels: Sequence[int], scores: Sequence[float], bins: int = CALIBRATION_BINS
) -> list[ReliabilityBin]:
    """Equal-width bins over [0, 1]; a score of exactly 1 falls in the last bin."""
    counts = [0] * bins
    score_sums = [0.0] * bins
    positives = [0] * bins
    for label, score in zip(labels, scores, strict=True):
        index = min(int(score * bins), bins - 1)
        counts[index] += 1
        score_sums[index] += score
        positives[index] += label
    return [
        ReliabilityBin(
            lower=i / bins,
            upper=(i + 1) / bins,
            count=counts[i],
            mean_score=score_sums[i] / counts[i] if counts[i] else None,
            positive_rate=positives[i] / counts[i] if counts[i] else None,
        )
        for i in range(bins)
    ]


def expected_calibration_error(
    labels: Sequence[int], scores: Sequence[float], bins: int = CALIBRATION_BINS
) -> float | None:
    """Sum over bins of |positive rate - mean score|, weighted by the bin's share of cases."""
    if not labels:
        return None
    total = len(labels)
    return sum(
        b.count / total * abs((b.positive_rate or 0.0) - (b.mean_score or 0.0))
        for b in reliability_bins(labels, scores, bins)
        if b.count
    )


def category_figures(
    category: str, labels: Sequence[int], scores: Sequence[float], threshold: float
) -> CategoryFigures:
    flags = [int(score >= threshold) for score in scores]
    precision, recall, f1 = precision_recall_f1(labels, flags)
    return CategoryFigures(
        category=category,
        cases=len(labels),
        support=sum(labels),
        flagged=sum(flags),
        true_positives=sum(f and y for f, y in zip(flags, labels, strict=True)),
        precision=precision,
        recall=recall,
        f1=f1,
        average_precision=average_precision(labels, scores),
        ece=expected_calibration_error(labels, scores),
    )


def accuracy_cell(name: str, outcomes: Sequence[bool]) -> AccuracyCell:
    correct = sum(outcomes)
    accuracy = correct / len(outcomes) if outcomes else None
    return AccuracyCell(name=name, cases=len(outcomes), correct=correct, accuracy=accuracy)


def accuracy_by(
    items: Iterable[T], key: Callable[[T], str | None], correct: Callable[[T], bool]
) -> list[AccuracyCell]:
    """One cell per key (items whose key is None left out), sorted by key."""
    groups: dict[str, list[bool]] = defaultdict(list)
    for item in items:
        name = key(item)
        if name is not None:
            groups[name].append(correct(item))
    return [accuracy_cell(name, groups[name]) for name in sorted(groups)]


def usage_figures(usage: TokenUsage, cost_usd: float, calls: int, posts: int) -> UsageFigures:
    """Token and cost totals, and per 1,000 scored posts (None when none was scored)."""

    def per_1000(value: float) -> float | None:
        return value * 1000 / posts if posts else None

    return UsageFigures(
        calls=calls,
        input_tokens=usage.input_tokens,
        cached_input_tokens=usage.cached_input_tokens,
        output_tokens=usage.output_tokens,
        cost_usd=cost_usd,
        input_tokens_per_1000=per_1000(usage.input_tokens),
        output_tokens_per_1000=per_1000(usage.output_tokens),
        cost_usd_per_1000=per_1000(cost_usd),
    )
