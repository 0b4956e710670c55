"""Both shared suites through the offline lexicon: every case accounted for, figures printed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from eval_suite_files import gold_counts, suite_paths

from streams.evaluation.plot import write_plot
from streams.evaluation.report import pct, render
from streams.evaluation.results import AccuracyFigures, EvaluationReport, FileResult
from streams.evaluation.run import evaluate_paths
from streams.settings import Settings


@pytest.fixture(scope="module")
def report() -> EvaluationReport:
    settings = Settings(scoring_backend="lexicon")
    return asyncio.run(evaluate_paths(suite_paths(), ["lexicon"], settings))


def _summary(result: FileResult) -> str:
    figures = result.results[0]
    accuracy = figures.accuracy
    assert accuracy is not None
    cells = [accuracy.overall, accuracy.hateful, accuracy.non_hateful, *accuracy.by_group]
    lines = [
        f"{Path(result.file.path).name} ({figures.config}, {figures.scored} scored): "
        + ", ".join(f"{c.name} {pct(c.accuracy)}" for c in cells),
        "  per target: " + ", ".join(f"{c.name} {pct(c.accuracy)}" for c in accuracy.by_target),
        "  per functionality: "
        + ", ".join(f"{c.name} {pct(c.accuracy)}" for c in accuracy.by_functionality),
    ]
    return "\n".join(lines)


def test_lexicon_on_both_suites(
    report: EvaluationReport, capsys: pytest.CaptureFixture[str]
) -> None:
    with capsys.disabled():
        print("\n" + "\n".join(_summary(result) for result in report.files))
    assert [Path(f.file.path).name for f in report.files] == [p.name for p in suite_paths()]
    for result, path in zip(report.files, suite_paths(), strict=True):
        gold = gold_counts(path)
        rows = sum(gold.values())
        assert (result.file.rows, result.file.cases, result.file.skipped) == (rows, rows, 0)
        assert result.file.evaluated == rows and result.file.unmapped_targets == {}
        (figures,) = result.results
        assert (figures.cases, figures.scored, figures.unscored) == (rows, rows, 0)
        accuracy = figures.accuracy
        assert accuracy is not None
        _check_accuracy(accuracy, rows, gold["hateful"], gold["non-hateful"])
        hate = next(c for c in figures.categories if c.category == "hate_speech")
        assert (hate.cases, hate.support) == (rows, gold["hateful"])
        assert all(c.cases == rows for c in figures.categories)  # groups labelled on every case
        assert 0 <= (figures.ece or 0) <= 1
        assert sum(b.count for b in figures.reliability) == sum(c.cases for c in figures.categories)
        assert figures.usage.cost_usd == 0 and figures.usage.calls >= rows / 25


def _check_accuracy(accuracy: AccuracyFigures, rows: int, hateful: int, non_hateful: int) -> None:
    overall = accuracy.overall
    assert overall.cases == rows and overall.accuracy is not None
    assert 0 <= overall.accuracy <= 1
    assert (accuracy.hateful.cases, accuracy.non_hateful.cases) == (hateful, non_hateful)
    assert accuracy.hateful.correct + accuracy.non_hateful.correct == overall.correct
    for table in (accuracy.by_functionality, accuracy.by_target):
        assert sum(c.cases for c in table) == rows
        assert sum(c.correct for c in table) == overall.correct
    functionalities = {c.name: c for c in accuracy.by_functionality}
    assert len(functionalities) >= 27
    groups = {c.name: c.cases for c in accuracy.by_group}
    assert groups["counter-speech"] == sum(
        c.cases for n, c in functionalities.items() if n.startswith("counter_")
    )
    assert groups["negation"] == sum(
        c.cases for n, c in functionalities.items() if n.startswith("negate_")
    )
    # Functionalities are hateful (_h) or not (_nh) as a whole: the gold labels agree.
    hateful_cases = sum(c.cases for n, c in functionalities.items() if n.endswith("_h"))
    assert hateful_cases == hateful


def test_report_as_json_and_tables(report: EvaluationReport) -> None:
    again = EvaluationReport.model_validate_json(report.model_dump_json())
    assert again == report
    text = render(report)
    for name in ("hatecheck_english.csv", "mhc_dutch.csv", "counter_quote_nh", "negate_neg_nh",
                 "Muslims", "by functionality", "PR-AUC"):  # fmt: skip
        assert name in text


def test_plot_writes_a_png(report: EvaluationReport, tmp_path: Path) -> None:
    out = tmp_path / "plots" / "eval.png"
    write_plot(report, out)
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 20_000
