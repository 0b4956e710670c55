"""The evaluation report as plain-text tables: per file, configurations side by side."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from streams.evaluation.results import (
    AccuracyCell,
    AccuracyFigures,
    ConfigResult,
    EvaluationReport,
    FileResult,
)

Row = Sequence[str]


def table(header: Row, rows: Sequence[Row], left: int = 1) -> str:
    """Columns padded to their widest cell; the first ``left`` left-aligned, the rest right."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(row: Row) -> str:
        cells = [
            cell.ljust(width) if i < left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def category_table(results: Sequence[ConfigResult]) -> str:
    rows: list[Row] = []
    names = [c.category for c in results[0].categories] if results else []
    for name in names:
        for result in results:
            figures = next((c for c in result.categories if c.category == name), None)
            if figures is None:
                continue
            rows.append([
                name if result is results[0] else "", result.config, str(figures.support),
                str(figures.cases), str(figures.flagged), num(figures.precision),
                num(figures.recall), num(figures.f1), num(figures.average_precision),
                num(figures.ece),
            ])  # fmt: skip
    header = ["category", "config", "support", "cases", "flagged", "precision", "recall", "F1",
              "PR-AUC", "ECE"]  # fmt: skip
    return table(header, rows, left=2)


def _cells(
    results: Sequence[ConfigResult], pick: Callable[[AccuracyFigures], Sequence[AccuracyCell]]
) -> list[Row]:
    """One row per cell name: the most cases any configuration judged, then each accuracy."""
    by_config = [
        {cell.name: cell for cell in pick(r.accuracy)} if r.accuracy else {} for r in results
    ]
    names = sorted({name for cells in by_config for name in cells})
    rows: list[Row] = []
    for name in names:
        cells = [cells.get(name) for cells in by_config]
        cases = max((c.cases for c in cells if c is not None), default=0)
        rows.append([f"  {name}", str(cases), *(pct(c.accuracy if c else None) for c in cells)])
    return rows


def accuracy_table(results: Sequence[ConfigResult], hate_category: str) -> str | None:
    if not any(r.accuracy for r in results):
        return None
    header = [f"accuracy ({hate_category} flag)", "cases", *(r.config for r in results)]
    rows: list[Row] = []
    sections: list[tuple[str, Callable[[AccuracyFigures], Sequence[AccuracyCell]]]] = [
        ("", lambda a: [a.overall, a.hateful, a.non_hateful]),
        ("counter-speech and negation", lambda a: a.by_group),
        ("by target", lambda a: a.by_target),
        ("by functionality", lambda a: a.by_functionality),
    ]
    for title, pick in sections:
        section = _cells(results, pick)
        if not title:  # the headline rows, in their own order and not indented
            order = {"overall": 0, "hateful": 1, "non-hateful": 2}
            section.sort(key=lambda row: order.get(row[0].strip(), 3))
            section = [[row[0].strip(), *row[1:]] for row in section]
        elif section:
            rows.append([title, "", *("" for _ in results)])
        rows.extend(section)
    return table(header, rows)


def usage_table(results: Sequence[ConfigResult]) -> str:
    rows: list[Row] = []
    for r in results:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(r.unscored_reasons.items()))
        rows.append([
            r.config, str(r.scored), f"{r.unscored}" + (f" ({reasons})" if reasons else ""),
            num(r.ece, 3), str(r.usage.calls), num(r.usage.input_tokens_per_1000, 0),
            num(r.usage.output_tokens_per_1000, 0), num(r.usage.cost_usd_per_1000, 4),
            f"{r.seconds:.1f}",
        ])  # fmt: skip
    header = ["config", "scored", "unscored", "ECE (all)", "calls", "in tok/1k", "out tok/1k",
              "USD/1k", "seconds"]  # fmt: skip
    return table(header, rows)


def file_heading(result: FileResult) -> str:
    f = result.file
    heading = (
        f"== {f.path} ({f.kind}): {f.rows} rows, {f.cases} cases, {f.skipped} skipped; "
        f"{f.evaluated} evaluated =="
    )
    notes = [f"   line {s.line}: {s.reason}" for s in f.skipped_lines]
    if f.skipped > len(f.skipped_lines):
        notes.append(f"   ... and {f.skipped - len(f.skipped_lines)} more skipped rows")
    for target, count in sorted(f.unmapped_targets.items()):
        notes.append(f"   {count} hateful cases of target {target!r}: hate_speech labelled only")
    return "\n".join([heading, *notes])


def render(report: EvaluationReport) -> str:
    configs = "; ".join(
        f"{c.config} = {c.backend} {c.model} (prompt {c.prompt_version}, batch {c.batch_size})"
        for c in report.configs
    )
    parts = [f"threshold {report.threshold:.2f}; configs: {configs}"]
    for result in report.files:
        parts += [file_heading(result), usage_table(result.results),
                  category_table(result.results)]  # fmt: skip
        accuracy = accuracy_table(result.results, report.hate_category)
        if accuracy:
            parts.append(accuracy)
    return "\n\n".join(parts) + "\n"
