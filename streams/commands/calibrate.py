"""``streams calibrate``: fit a calibration map from the corrections and publish it to the
workers. Thin and lazy: scikit-learn is imported only when it runs."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import faust
from faust.cli import option

from streams.settings import Settings


def register(app: faust.App, settings: Settings) -> None:
    @app.command(
        option("--examples", "examples", multiple=True,
               type=click.Path(exists=True, dir_okay=False, path_type=Path),
               help="Training examples as JSONL (the harvester's files or `streams harvest "
               f"export`); repeatable. Default: the compacted {settings.topic_training}."),
        option("--source", default=None, metavar="BACKEND/MODEL/PROMPT",
               help="The scoring configuration to calibrate: only its scores are used and "
               "only its workers apply the map. Default: the one these settings run."),
        option("--min-isotonic", type=click.IntRange(min=2), default=200, show_default=True,
               help="Pairs (examples of a category) for an isotonic fit."),
        option("--min-platt", type=click.IntRange(min=2), default=30, show_default=True,
               help="Pairs for a Platt (logistic) fit; fewer: the category is refused."),
        option("--min-per-class", type=click.IntRange(min=1), default=5, show_default=True,
               help="Examples labelled 1, and 0, a category needs for any fit."),
        option("--holdout", type=click.FloatRange(0.05, 0.9), default=0.3, show_default=True,
               help="Share of examples held out to check the fit (chosen by status id)."),
        option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
               help="Also write the map as JSON (for `streams shadow --calibration`)."),
        option("--dry-run", is_flag=True, help="Fit and report; publish nothing."),
        option("--json", "as_json", is_flag=True, help="Print the report as one JSON object."),
    )  # fmt: skip
    async def calibrate(
        self: object, examples: tuple[Path, ...], source: str | None, min_isotonic: int,
        min_platt: int, min_per_class: int, holdout: float, out: Path | None, dry_run: bool,
        as_json: bool,
    ) -> None:  # fmt: skip
        """Fit what a score means from moderators' corrections; publish it to the workers.

        \b
        Joins the training examples with the raw scores the live model gave their posts
        (the latest record on STREAMS_TOPIC_SCORED), and fits a map per category:
        isotonic from --min-isotonic pairs, Platt scaling from --min-platt, none below
        that (said so), and per language where a language alone has enough. It is fitted
        on all but --holdout of the examples and checked on those: the expected
        calibration error before and after, per category. Then it is published as a
        versioned record on the compacted STREAMS_TOPIC_CALIBRATION, keyed by the scoring
        configuration; running workers of that configuration apply it within seconds,
        without a restart: scored records carry raw_scores, the calibrated scores and
        calibration_version, and flag on the calibrated ones.

        \b
        Corrections cover posts someone flagged or reported: a biased sample. The report
        says how many examples each category used. Exit status: 0 a map was fitted (and
        published unless --dry-run), 1 no category had enough examples, 2 it could not
        run (broker, topic, file). Needs scikit-learn: pip install 'streams[eval]'.
        """
        from streams.calibration.command import render, run_calibrate
        from streams.calibration.fit import CalibrationOptions
        from streams.errors import StreamsError

        options = CalibrationOptions(
            min_isotonic=min_isotonic, min_platt=min_platt, min_per_class=min_per_class,
            holdout=holdout,
        )  # fmt: skip
        try:
            report = await run_calibrate(
                settings, examples=list(examples), source=source, options=options,
                publish=not dry_run, out=out,
            )  # fmt: skip
        except StreamsError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)
        print(report.model_dump_json(indent=2) if as_json else render(report, dry_run))
        if not report.fit.map.entries:
            sys.exit(1)
