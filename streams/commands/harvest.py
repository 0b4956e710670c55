"""``streams harvest export``: the current training example of every post, for a training job."""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path

import click
import faust
from faust.cli import argument, option

from streams.errors import StreamsError
from streams.harvest.timefilter import SINCE_HELP, UNTIL_HELP, parse_time_bound
from streams.settings import Settings


def _bound(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_time_bound(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def register(app: faust.App, settings: Settings) -> None:
    @app.command(
        argument("action", type=click.Choice(["export"])),
        option("--since", default=None, callback=_bound, help=SINCE_HELP),
        option("--until", default=None, callback=_bound, help=UNTIL_HELP),
        option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True,
               help="File to write (JSON Lines); replaced atomically."),
    )  # fmt: skip
    async def harvest(
        self: object, action: str, since: datetime | None, until: datetime | None, out: Path
    ) -> None:
        """Export the current training example of each post from the training topic.

        One JSON line per post: its latest example, erased posts left out, filtered by the
        time of the example's latest correction (--since inclusive, --until exclusive).
        """
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
