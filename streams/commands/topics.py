"""``streams topics list|create``: the topic catalog, and creating it on the broker."""

from __future__ import annotations

import sys

import click
import faust
from faust.cli import argument

from streams.errors import StreamsError
from streams.settings import Settings


def register(app: faust.App, settings: Settings) -> None:
    @app.command(argument("action", type=click.Choice(["list", "create"])))
    async def topics(self: object, action: str) -> None:
        """The pipeline's topics.

        \b
        list    print the catalog: name, key, value contract, partitions, cleanup, retention
        create  create missing topics on STREAMS_KAFKA_BOOTSTRAP_SERVERS; existing ones are
                left alone and any difference from the catalog is reported (exit 1)

        Safe to run again: a second `create` changes nothing.
        """
        from streams.kafka.admin import ensure_topics
        from streams.kafka.catalog import catalog
        from streams.kafka.client import check_connection, client_options

        specs = catalog(settings)
        if action == "list":
            for s in specs:
                retention = "forever" if s.retention_ms < 0 else f"{s.retention_ms // 86_400_000}d"
                print(
                    f"{s.name:28} key={s.key:14} partitions={s.partitions} "
                    f"cleanup={s.cleanup_policy:7} retention={retention:7} value={s.value}"
                )
            return
        try:
            await check_connection(settings)
            reports = await ensure_topics(
                settings.kafka_bootstrap_servers, specs, settings.topic_replication_factor,
                client_options(settings),
            )  # fmt: skip
        except StreamsError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)
        for report in reports:
            print(report.line())
        if any(r.outcome == "drift" for r in reports):
            sys.exit(1)
