"""The body of ``streams calibrate``: read, join, fit, check, report, publish.

The training examples come from the compacted training topic (or the harvester's JSONL files
and exports), the scores from the live scored topic, both read to their end as of now. The map
is fitted on the examples not held out and checked on the others; it is published only when
asked not to be a dry run, and only with at least one category fitted.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from streams.calibration.fit import CalibrationFit, CalibrationOptions, calibrate
from streams.calibration.map import source_key
from streams.calibration.pairs import JoinCounts, join_pairs, read_examples
from streams.calibration.topic import publish_map
from streams.errors import StreamsError
from streams.harvest.export import latest_per_key
from streams.kafka.client import client_options
from streams.scoring.factory import backend_identity
from streams.settings import Settings


class Published(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    topic: str
    key: str
    partition: int
    offset: int


class CalibrateReport(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    join: dict[str, Any]
    fit: CalibrationFit
    published: Published | None
    written_to: str | None


def default_source(settings: Settings) -> str:
    """The configuration the workers run with these settings."""
    return source_key(*backend_identity(settings))


def _example_values(settings: Settings, files: list[Path]) -> list[bytes | None]:
    values: list[bytes | None] = []
    for path in files:
        try:
            values += [line for line in path.read_bytes().splitlines() if line.strip()]
        except OSError as exc:
            raise StreamsError(f"cannot read {path}: {exc.strerror}") from None
    return values


async def run_calibrate(
    settings: Settings,
    *,
    examples: list[Path],
    source: str | None,
    options: CalibrationOptions,
    publish: bool,
    out: Path | None,
) -> CalibrateReport:
    """Fit a map from the examples and the live scores; publish and write it as asked."""
    bootstrap, kafka = settings.kafka_bootstrap_servers, client_options(settings)
    if examples:
        values = _example_values(settings, examples)
    else:
        values = list((await latest_per_key(bootstrap, settings.topic_training, None, kafka))[0]
                      .values())  # fmt: skip
    scored, _ = await latest_per_key(bootstrap, settings.topic_scored, None, kafka)
    counts = JoinCounts()
    key = source or default_source(settings)
    pairs = join_pairs(read_examples(values, counts), scored, key, counts)
    fit = calibrate(pairs, options, source=key)
    published = None
    if publish and fit.map.entries:
        partition, offset = await publish_map(settings, fit.map)
        published = Published(
            topic=settings.topic_calibration, key=key, partition=partition, offset=offset
        )
    if out is not None:
        out.write_bytes(fit.map.to_bytes() + b"\n")
    return CalibrateReport(
        source=key, join=asdict(counts), fit=fit, published=published,
        written_to=str(out) if out is not None else None,
    )  # fmt: skip


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def render(report: CalibrateReport, dry_run: bool) -> str:
    join, fit = report.join, report.fit
    lines = [
        f"calibration of {report.source}",
        f"examples: {join['examples']}, joined with a live score: {join['joined']}; "
        f"no scored record: {join['unscored']}; scored by another configuration: "
        f"{sum(join['other_source'].values())}; unreadable: {join['unreadable_examples']} "
        f"examples, {join['unreadable_scores']} scores",
        f"fitted on {fit.train_examples} examples, checked on {fit.holdout_examples} held out",
        "",
        f"{'category':<16} {'language':<8} {'method':<9} {'pairs':>6} {'pos':>5}  why",
    ]
    lines += [
        f"{o.category:<16} {o.language or 'all':<8} {o.method:<9} {o.examples:>6} "
        f"{o.positives:>5}  {o.reason}"
        for o in fit.outcomes
    ]
    lines += ["", f"{'held out':<16} {'pairs':>6} {'pos':>5} {'ECE before':>11} {'after':>7}"]
    lines += [
        f"{h.category:<16} {h.examples:>6} {h.positives:>5} {_cell(h.ece_before):>11} "
        f"{_cell(h.ece_after):>7}"
        for h in fit.holdout
    ]
    lines.append("")
    if not fit.map.entries:
        lines.append("no category had enough examples: nothing to publish")
    elif report.published is not None:
        p = report.published
        lines.append(f"published {fit.map.version} to {p.topic}[{p.partition}]@{p.offset}; "
                     "running workers apply it within seconds")  # fmt: skip
    elif dry_run:
        lines.append(f"dry run: {fit.map.version} not published")
    if report.written_to:
        lines.append(f"map written to {report.written_to}")
    return "\n".join(lines)
