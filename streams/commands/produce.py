"""``streams produce statuses|corrections FILE|-``: validate records and publish them."""

from __future__ import annotations

import sys
import time
from typing import BinaryIO

import click
import faust
from faust.cli import argument, option

from streams.errors import StreamsError
from streams.ingest.files import KEY_FUNCTIONS, BadRecord, GoodRecord, read_records
from streams.settings import Settings


def register(app: faust.App, settings: Settings) -> None:
    topics = {"statuses": settings.topic_raw, "corrections": settings.topic_corrections}

    @app.command(
        argument("kind", type=click.Choice(sorted(KEY_FUNCTIONS))),
        argument("file", type=click.File("rb")),
        option("--strict", is_flag=True, help="Send nothing if any record is bad."),
        option("--topic", default=None, help="Topic to send to (default: the catalog's)."),
    )
    async def produce(
        self: object, kind: str, file: BinaryIO, strict: bool, topic: str | None
    ) -> None:
        """Publish Mastodon statuses or moderators' corrections from FILE (- for stdin).

        FILE holds JSON Lines or one JSON array. Each record is validated; bad ones are
        reported with their line (or array item) number and skipped. Statuses are keyed by
        their id, corrections by the id of the status they correct. Delivery is confirmed by
        the broker (idempotent producer, acks=all), so no record is sent twice.

        Exit status: 0 all sent, 1 some records rejected (the good ones were sent, or none
        with --strict), 2 the broker could not be reached or refused a record.
        """
        from streams.ingest.publish import publish

        started = time.monotonic()
        good: list[GoodRecord] = []
        bad: list[BadRecord] = []
        for item in read_records(file.read(), KEY_FUNCTIONS[kind]):
            if isinstance(item, GoodRecord):
                good.append(item)
            else:
                bad.append(item)
        for rejected in bad:
            print(f"rejected {rejected.position}: {rejected.reason}", file=sys.stderr)
        target = topic or topics[kind]
        sent = 0
        if bad and strict:
            print(f"--strict: {len(bad)} bad records, nothing sent to {target}", file=sys.stderr)
        elif good:
            try:
                sent = await publish(settings, target, good, progress=len(good) > 1000)
            except StreamsError as exc:
                print(f"error: {exc}", file=sys.stderr)
                sys.exit(2)
            except Exception as exc:
                print(
                    f"error: publishing to {target} at {settings.kafka_bootstrap_servers} "
                    f"failed: {exc!r}; check the broker (streams kafka status) and retry",
                    file=sys.stderr,
                )
                sys.exit(2)
        seconds = time.monotonic() - started
        rate = sent / seconds if seconds > 0 else 0.0
        print(
            f"{kind}: sent {sent}, rejected {len(bad)}, {seconds:.2f} s, "
            f"{rate:.0f} records/s -> {target}"
        )
        if bad:
            sys.exit(1)
