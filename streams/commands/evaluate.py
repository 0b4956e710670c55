"""``streams eval``: score labelled files with one or more scoring configurations, side by side.

Thin and lazy: the evaluation (and its numpy, scikit-learn and matplotlib) is imported only
when the command runs, never by a worker.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import faust
from faust.cli import argument, option

from streams.settings import Settings

BACKEND_HELP = (
    "Scoring configuration, repeatable for a side-by-side comparison: a backend (lexicon, "
    "openai, auto) and optional settings overrides, NAME[,FIELD=VALUE...], e.g. "
    "'openai,openai_model=gpt-4o,batch_size=10'. Default: the configured backend."
)


def register(app: faust.App, settings: Settings) -> None:
    @app.command(
        argument("files", nargs=-1, required=True,
                 type=click.Path(exists=True, dir_okay=False, path_type=Path)),
        option("--backend", "backends", multiple=True, metavar="NAME[,FIELD=VALUE...]",
               help=BACKEND_HELP),
        option("--limit", type=click.IntRange(min=1), default=None,
               help="Score at most N cases per file, spread evenly over it (every k-th case, "
               "so every functionality of a suite is represented)."),
        option("--json", "as_json", is_flag=True, help="Print the report as one JSON object."),
        option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None,
               help="Also write a PNG: per-category precision/recall/F1 bars per "
               "configuration and a reliability diagram, one row per file."),
        option("--threshold", type=click.FloatRange(0, 1), default=None,
               help="Flag threshold (default: STREAMS_FLAG_THRESHOLD, "
               f"{settings.flag_threshold:g})."),
    )  # fmt: skip
    async def eval(  # the command is named after the function
        self: object,
        files: tuple[Path, ...],
        backends: tuple[str, ...],
        limit: int | None,
        as_json: bool,
        plot: Path | None,
        threshold: float | None,
    ) -> None:
        """Evaluate scoring against labelled files: how good are the scores?

        \b
        FILE is a HateCheck-style suite (.csv: functionality, test_case, label_gold,
        target_ident) or the harvester's training examples (.jsonl: text and labels per
        category, as the daily files and `streams harvest export` write them).
        Suite cases label hate_speech, and the target's category for hateful ones
        (women -> sexism, gay and trans people -> homophobia, black people and
        immigrants -> racism, Muslims -> islamophobia, Jews -> antisemitism, disabled
        people -> ableism); see streams/evaluation/mapping.py.

        \b
        Per file and configuration it reports: precision, recall, F1, support and PR-AUC
        per category at the flag threshold; accuracy of the hate_speech flag overall, on
        hateful and non-hateful cases, per functionality, per target, and counter-speech
        and negation apart; expected calibration error (10 bins); tokens and cost per
        1,000 posts. Cases the backend could not score are counted as unscored, never as
        zeros. Rows that cannot be read are skipped and listed with their line.

        \b
        Needs numpy and scikit-learn (and matplotlib for --plot): pip install 'streams[eval]'.
        Exit status: 0 every case scored, 1 some unscored, 2 could not run.
        """
        from streams.evaluation.command import run_command

        code = await run_command(
            files, backends, settings,
            limit=limit, as_json=as_json, plot=plot, threshold=threshold,
        )  # fmt: skip
        if code:
            sys.exit(code)
