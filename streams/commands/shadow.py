"""``streams shadow``: a candidate scoring configuration over the retained raw topic, compared
with the live scores and the training examples.

Thin and lazy: the replay, the comparison and scikit-learn are imported only when it runs.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click
import faust
from faust.cli import option

from streams.commands.options import time_bound
from streams.settings import Settings

CANDIDATE_HELP = (
    "The configuration to try: a backend (lexicon, openai, auto) and overrides of settings "
    "fields, NAME[,FIELD=VALUE...], as `streams eval --backend` takes them, e.g. "
    "'openai,openai_model=gpt-4o', 'openai,openai_base_url=http://127.0.0.1:8000/v1' or "
    "'lexicon,flag_threshold=0.4'. Secret values (keys) are never printed nor published."
)


def register(app: faust.App, settings: Settings) -> None:
    @app.command(
        option("--candidate", required=True, metavar="NAME[,FIELD=VALUE...]",
               help=CANDIDATE_HELP),
        option("--calibration", type=click.Path(exists=True, dir_okay=False, path_type=Path),
               default=None,
               help="A calibration map (JSON) applied to the candidate's scores before its "
               "threshold, as a worker applies one."),
        option("--since", default=None, callback=time_bound,
               help="Replay the raw records produced at or after this time: YYYY-MM-DD "
               "(midnight UTC) or ISO 8601 such as 2026-03-01T12:00:00Z. Default: from the "
               "beginning of the retained topic."),
        option("--from-offset", "from_offset", type=click.IntRange(min=0), default=None,
               help="Replay every partition from this offset (clipped to what is retained)."),
        option("--limit", type=click.IntRange(min=1), default=None,
               help="Replay at most N raw records (what a paid LLM run costs is N posts)."),
        option("--shadow-topic", "shadow_topic", default=None,
               help=f"Where the candidate's records go (default {settings.topic_scored}.shadow; "
               "created compacted if missing; never a live topic)."),
        option("--samples", type=click.IntRange(min=0), default=5, show_default=True,
               help="Status ids listed for each direction of flips."),
        option("--json", "as_json", is_flag=True, help="Print the report as one JSON object."),
    )  # fmt: skip
    async def shadow(
        self: object,
        candidate: str,
        calibration: Path | None,
        since: datetime | None,
        from_offset: int | None,
        limit: int | None,
        shadow_topic: str | None,
        samples: int,
        as_json: bool,
    ) -> None:
        """Try a candidate scoring configuration on real traffic before it goes live.

        \b
        Replays the retained raw topic (STREAMS_TOPIC_RAW) through the candidate, as a
        worker would score it, and publishes its scored records to a shadow topic.
        It joins no consumer group and commits nothing, and writes no live topic: the
        live workers and their committed offsets do not notice it.
        Then it compares, over the posts both scored:

        \b
          agreement   per category: flagged by live, by the candidate, by both, the
                      share flagged alike and the mean absolute score difference
          flips       posts flagged by one side only, counted and a few ids each way
          examples    precision, recall, F1 and PR-AUC against the harvester's training
                      examples (STREAMS_TOPIC_TRAINING), live and candidate side by side;
                      corrections mostly cover posts someone flagged: a biased sample
          cost        tokens and USD per 1,000 posts, as the records carry them

        \b
        Progress goes to stderr. Exit status: 0 every replayed post scored, 1 the
        candidate could not score some (counted by reason, published nowhere), 2 it
        could not run (broker, topic, option, LLM endpoint). Needs scikit-learn:
        pip install 'streams[eval]'.
        """
        from streams.shadow.command import ShadowOptions, run_command
        from streams.shadow.replay import ReplayStart

        if since is not None and from_offset is not None:
            raise click.UsageError("--since and --from-offset choose the start: give one")
        options = ShadowOptions(
            candidate=candidate, calibration=calibration,
            start=ReplayStart(since=since, offset=from_offset), limit=limit,
            shadow_topic=shadow_topic, samples=samples,
        )  # fmt: skip
        code = await run_command(settings, options, as_json=as_json)
        if code:
            sys.exit(code)
