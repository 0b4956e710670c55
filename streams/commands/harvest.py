"""``streams harvest export``: the current training example of every post, for a training job."""

from __future__ import annotations

import re
import sys
import time
from datetime import datetime
from pathlib import Path

import click
import faust
from faust.cli import argument, option

from streams.commands.options import time_bound
from streams.errors import StreamsError
from streams.harvest.timefilter import SINCE_HELP, UNTIL_HELP
from streams.settings import Settings


def register(app: faust.App, settings: Settings) -> None:
    @app.command(
        argument("action", type=click.Choice(["export", "erase"])),
        argument("status_ids", nargs=-1),
        option("--since", default=None, callback=time_bound, help=SINCE_HELP),
        option("--until", default=None, callback=time_bound, help=UNTIL_HELP),
        option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
               help="export: file to write (JSON Lines); replaced atomically."),
        option("--wait", "wait_s", type=float, default=60.0, show_default=True,
               help="erase: seconds to wait for the harvester's receipt."),
    )  # fmt: skip
    async def harvest(
        self: object,
        action: str,
        status_ids: tuple[str, ...],
        since: datetime | None,
        until: datetime | None,
        out: Path | None,
        wait_s: float,
    ) -> None:
        """Export the training data, or erase posts from it.

        \b
        export --out FILE [--since T] [--until T]
                the current training example of each post, one JSON line per post, erased
                posts left out, filtered by the time of the example's latest correction
                (--since inclusive, --until exclusive)
        erase STATUS_ID... [--wait S]
                a user's erasure request: publishes a deletion of each post to the raw topic,
                as the instance's own deletion does. The workers then remove the post's
                scores, text and corrections, tombstone its training example, purge its
                JSONL lines and remember it as erased, so later corrections or boosts do not
                bring it back. Prints, per post, the harvester's receipt and the JSONL lines
                left in this machine's harvest directory.
        """
        if action == "erase":
            await _erase(settings, list(status_ids), wait_s)
        elif out is None or status_ids:
            raise click.UsageError("export takes --out FILE and no status ids")
        else:
            await _export(settings, since, until, out)


async def _export(
    settings: Settings, since: datetime | None, until: datetime | None, out: Path
) -> None:
    from streams.harvest.export import ExportSummary, latest_per_key, progress_bar, write_export
    from streams.kafka.client import check_connection, client_options

    started = time.monotonic()
    summary = ExportSummary()
    try:
        await check_connection(settings)
        latest, summary.records_read = await latest_per_key(
            settings.kafka_bootstrap_servers, settings.topic_training, progress_bar(),
            client_options(settings),
        )  # fmt: skip
    except StreamsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    write_export(latest, out, since, until, summary)
    summary.seconds = time.monotonic() - started
    print(summary.line(out))


async def _erase(settings: Settings, status_ids: list[str], wait_s: float) -> None:
    from streams.harvest.erase import erase_posts
    from streams.kafka.client import check_connection, client_options
    from streams.models.corrections import STATUS_ID_PATTERN

    if not status_ids:
        raise click.UsageError("erase takes one or more status ids")
    bad = [s for s in status_ids if not re.fullmatch(STATUS_ID_PATTERN, s)]
    if bad:
        raise click.BadParameter(f"not a status id: {', '.join(map(repr, bad))}")
    try:
        await check_connection(settings)
        receipts = await erase_posts(
            status_ids, bootstrap=settings.kafka_bootstrap_servers,
            raw_topic=settings.topic_raw, training_topic=settings.topic_training,
            harvest_dir=settings.harvest_directory, wait_s=wait_s,
            client_options=client_options(settings),
            progress=lambda line: print(line, file=sys.stderr),
        )  # fmt: skip
    except StreamsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    for receipt in receipts:
        print(receipt.line())
    if any(r.confirmed_after_s is None or r.jsonl_lines_left for r in receipts):
        sys.exit(1)
