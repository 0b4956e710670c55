"""``--plot``: a PNG per run, one row per file: precision, recall and F1 per category for each
configuration, and a reliability diagram of every configuration (observed positive rate against
mean score per bin; the diagonal is perfect calibration).

matplotlib is imported here only, with the Agg backend (no display needed).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from streams.evaluation.results import ConfigResult, EvaluationReport

LINE_STYLES = ("-", "--", ":", "-.")
METRICS = (("precision", "#4C72B0"), ("recall", "#DD8452"), ("f1", "#55A868"))


def _value(value: float | None) -> float:
    return math.nan if value is None else value


def _bars(ax: Any, result: ConfigResult, title: str) -> None:
    names = [c.category for c in result.categories]
    width = 0.27
    for offset, (metric, colour) in enumerate(METRICS):
        heights = [_value(getattr(c, metric)) for c in result.categories]
        xs = [i + (offset - 1) * width for i in range(len(names))]
        ax.bar(xs, heights, width, label="F1" if metric == "f1" else metric, color=colour)
        for x, height in zip(xs, heights, strict=True):
            if math.isnan(height):  # undefined (nothing flagged, or no positive case)
                ax.text(x, 0.01, "n/a", rotation=90, ha="center", va="bottom", fontsize=6)
    ax.set_xticks(range(len(names)), names, rotation=35, ha="right", fontsize=8)
    # Headroom above 1 for the legend, so it never hides a bar.
    ax.set_ylim(0, 1.15)
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_title(title, fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", ncol=3, frameon=False)


def _reliability(ax: Any, results: list[ConfigResult], title: str) -> None:
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfect")
    for index, result in enumerate(results):
        filled = [b for b in result.reliability if b.count]
        total = sum(b.count for b in filled) or 1
        xs = [_value(b.mean_score) for b in filled]
        ys = [_value(b.positive_rate) for b in filled]
        # Marker area grows with the bin's share of pairs: most pairs sit near 0.
        sizes = [20 + 400 * b.count / total for b in filled]
        ece = "-" if result.ece is None else f"{result.ece:.3f}"
        # Dashes differ per configuration, so identical curves stay visible on top of each other.
        style = LINE_STYLES[index % len(LINE_STYLES)]
        (line,) = ax.plot(xs, ys, linestyle=style, label=f"{result.config} (ECE {ece})")
        ax.scatter(xs, ys, s=sizes, color=line.get_color(), alpha=0.6)
    ax.set_xlim(-0.03, 1.03)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("mean score in bin", fontsize=8)
    ax.set_ylabel("share labelled 1", fontsize=8)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")


def write_plot(report: EvaluationReport, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = max(len(report.files), 1)
    cols = len(report.configs) + 1
    fig, axes = plt.subplots(
        rows, cols, figsize=(5.5 * cols, 4.2 * rows), squeeze=False, layout="constrained"
    )
    for row, file_result in zip(axes, report.files, strict=False):
        name = Path(file_result.file.path).name
        for ax, result in zip(row, file_result.results, strict=False):
            _bars(ax, result, f"{name}: {result.config} at {report.threshold:.2f}")
        _reliability(row[-1], file_result.results, f"{name}: reliability")
    fig.suptitle(f"streams eval: flag threshold {report.threshold:.2f}", fontsize=11)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
