"""``streams dlq replay``: re-publish dead letters to their original topics, once each."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import get_args

import click
import faust
from faust.cli import argument, option

from streams.commands.options import time_bound
from streams.errors import StreamsError
from streams.harvest.timefilter import SINCE_HELP, UNTIL_HELP
from streams.models.dead_letter import Stage
from streams.settings import Settings


def register(app: faust.App, settings: Settings) -> None:
    @app.command(
        argument("action", type=click.Choice(["replay"])),
        option("--reason", "reasons", multiple=True, metavar="REASON",
               help="Replay only dead letters with this dlq.reason (repeatable), e.g. "
               "llm_unavailable, item_missing, text_wait_expired. Default: every reason."),
        option("--stage", "stages", multiple=True, type=click.Choice(get_args(Stage)),
               help="Replay only dead letters of this stage (repeatable). Default: score, "
               "harvest and produce; parse failures only when named, since the same bytes "
               "fail the same way unless the parser changed."),
        option("--since", default=None, callback=time_bound,
               help="Time of a dead letter = when it was written (its record timestamp); "
               + SINCE_HELP),
        option("--until", default=None, callback=time_bound, help=UNTIL_HELP),
        option("--dry-run", is_flag=True,
               help="Count what would be replayed; publish and mark nothing."),
        option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object."),
    )  # fmt: skip
    async def dlq(
        self: object, action: str, reasons: tuple[str, ...], stages: tuple[str, ...],
        since: datetime | None, until: datetime | None, dry_run: bool, as_json: bool,
    ) -> None:  # fmt: skip
        """Re-publish dead letters to the topic they came from, each one once.

        \b
        Reads the dead-letter topic (STREAMS_TOPIC_DLQ) and sends each chosen dead letter's
        original key and value, with its non-dlq.* headers and a replay.from header, to its
        original topic (dlq.original_topic), so the workers process it again. Run it after
        the cause is fixed (the LLM is back, a text arrived, a bug was fixed).
        \b
        Not replayed: dead letters already replayed (marked on the compacted topic
        STREAMS_TOPIC_DLQ_REPLAYED, default <dlq>.replayed, so a second run replays none of
        them again); a post edited or deleted since (a later record of its key on the raw
        topic supersedes it: replaying would bring back a deleted post or old text); a
        second dead letter of one original record (replayed once); and what the filters
        leave out. Dead letters of older dlq.* schema versions are read too.
        \b
        Ends with a summary: per stage/reason what was replayed, already replayed,
        superseded or filtered out. Progress goes to stderr.
        \b
        Exit status: 0 done; 1 some chosen dead letters cannot be replayed (unreadable
        headers, a value cut to fit the dead-letter topic, an original topic that is gone);
        2 the broker could not be reached or the run stopped (run it again: what was
        replayed is marked).
        """
        from streams.dlq.progress import progress_lines
        from streams.dlq.replay import replay_dead_letters
        from streams.dlq.selection import DEFAULT_STAGES, Criteria

        if since is not None and until is not None and since >= until:
            print(f"error: --since {since.isoformat()} is not before --until "
                  f"{until.isoformat()}: nothing to replay", file=sys.stderr)  # fmt: skip
            sys.exit(2)
        criteria = Criteria(
            reasons=frozenset(reasons), stages=frozenset(stages) or DEFAULT_STAGES,
            since=since, until=until,
        )  # fmt: skip
        try:
            summary = await replay_dead_letters(
                settings, criteria, dry_run=dry_run, progress=progress_lines()
            )
        except StreamsError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)
        if as_json:
            print(json.dumps(summary.to_json(), sort_keys=True))
        else:
            print("\n".join(summary.lines()))
        if summary.cannot:
            sys.exit(1)
