"""Turns one configuration's scores on one file into its figures (pure).

Only scored cases count: an unscored case is in ``unscored`` and in no other figure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from streams.categories import CATEGORIES
from streams.evaluation.cases import FileSummary, LabelledCase
from streams.evaluation.mapping import HATE_CATEGORY, functionality_group
from streams.evaluation.metrics import (
    accuracy_by,
    accuracy_cell,
    category_figures,
    expected_calibration_error,
    reliability_bins,
    usage_figures,
)
from streams.evaluation.results import (
    AccuracyFigures,
    CategoryFigures,
    ConfigResult,
    FileFigures,
    SkippedLine,
)
from streams.evaluation.scoring import FileScores

Scored = tuple[LabelledCase, Mapping[str, float]]


def scored_cases(cases: Sequence[LabelledCase], scores: FileScores) -> list[Scored]:
    return [(case, scores.scores[case.case_id]) for case in cases if case.case_id in scores.scores]


def per_category(scored: Sequence[Scored], threshold: float) -> list[CategoryFigures]:
    """Figures for each category some scored case labels, in canonical order."""
    figures: list[CategoryFigures] = []
    for category in CATEGORIES:
        pairs = [
            (case.labels[category], scores.get(category, 0.0))
            for case, scores in scored
            if category in case.labels
        ]
        if pairs:
            labels, values = zip(*pairs, strict=True)
            figures.append(category_figures(category, labels, values, threshold))
    return figures


def labelled_pairs(scored: Sequence[Scored]) -> tuple[list[int], list[float]]:
    """Every (label, score) of every labelled category of every scored case."""
    labels: list[int] = []
    values: list[float] = []
    for case, scores in scored:
        for category, label in case.labels.items():
            labels.append(label)
            values.append(scores.get(category, 0.0))
    return labels, values


def accuracy(scored: Sequence[Scored], threshold: float) -> AccuracyFigures | None:
    """Hate-flag accuracy overall, by gold label, functionality, target and group."""
    hate = HATE_CATEGORY.value
    judged = [
        (case, s.get(hate, 0.0) >= threshold) for case, s in scored if case.hateful is not None
    ]
    if not judged:
        return None

    def correct(item: tuple[LabelledCase, bool]) -> bool:
        return item[1] == item[0].hateful

    return AccuracyFigures(
        overall=accuracy_cell("overall", [correct(item) for item in judged]),
        hateful=accuracy_cell("hateful", [correct(i) for i in judged if i[0].hateful]),
        non_hateful=accuracy_cell("non-hateful", [correct(i) for i in judged if not i[0].hateful]),
        by_functionality=accuracy_by(judged, lambda i: i[0].functionality, correct),
        by_target=accuracy_by(judged, lambda i: _target_name(i[0]), correct),
        by_group=accuracy_by(judged, lambda i: functionality_group(i[0].functionality), correct),
    )


def _target_name(case: LabelledCase) -> str | None:
    if case.functionality is None and case.target is None:
        return None  # not a suite case: no target to speak of
    return case.target or "(none)"


def config_result(
    label: str, cases: Sequence[LabelledCase], scores: FileScores, threshold: float
) -> ConfigResult:
    scored = scored_cases(cases, scores)
    labels, values = labelled_pairs(scored)
    unscored = [scores.unscored[c.case_id] for c in cases if c.case_id in scores.unscored]
    return ConfigResult(
        config=label,
        cases=len(cases),
        scored=len(scored),
        unscored=len(cases) - len(scored),
        unscored_reasons=dict(Counter(u.reason for u in unscored)),
        categories=per_category(scored, threshold),
        accuracy=accuracy(scored, threshold),
        ece=expected_calibration_error(labels, values),
        reliability=reliability_bins(labels, values),
        usage=usage_figures(scores.usage, scores.cost_usd, scores.calls, len(scored)),
        seconds=round(scores.seconds, 3),
    )


def file_figures(summary: FileSummary, evaluated: int) -> FileFigures:
    return FileFigures(
        path=summary.path,
        kind=summary.kind,
        rows=summary.rows,
        cases=summary.cases,
        evaluated=evaluated,
        skipped=summary.skipped,
        skipped_lines=[SkippedLine(line=s.line, reason=s.reason) for s in summary.skipped_rows],
        unmapped_targets=dict(summary.unmapped_targets),
    )
