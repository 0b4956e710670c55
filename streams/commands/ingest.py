"""``streams ingest mastodon``: follow an instance's streaming API into the raw topic."""

from __future__ import annotations

import asyncio
import signal
import sys

import click
import faust
from faust.cli import argument, option

from streams.errors import StreamsError
from streams.settings import Settings


def register(app: faust.App, settings: Settings) -> None:
    @app.command(
        argument("platform", type=click.Choice(["mastodon"])),
        option("--base-url", default=None,
               help="The instance's URL, e.g. https://mastodon.example. Env: "
               "STREAMS_MASTODON_BASE_URL."),
        option("--stream", "streams", multiple=True,
               help="A stream to follow (public:remote, public, public:local); repeatable. "
               "Env: STREAMS_MASTODON_STREAMS (default public:remote)."),
    )  # fmt: skip
    async def ingest(
        self: object, platform: str, base_url: str | None, streams: tuple[str, ...]
    ) -> None:
        """Publish an instance's posts to the raw topic as they are posted, edited, deleted.

        \b
        Long-running. Needs STREAMS_MASTODON_ACCESS_TOKEN: a token of an application with
        the read:statuses scope (Preferences > Development). New and edited posts go to the
        raw topic keyed by status id, deletions as tombstones. After every reconnect and at
        start it backfills from the public timeline since the last id it published (kept in
        STREAMS_MASTODON_STATE_FILE), back at most STREAMS_MASTODON_BACKFILL_MAX_AGE_S.
        An unreachable host is retried with backoff; a refused token stops it.

        Exit status: 0 stopped by SIGINT or SIGTERM, 2 a configuration the instance refuses
        (bad token, missing scope, not a Mastodon URL).
        """
        from streams.ingest.mastodon.config import FollowerConfig
        from streams.ingest.mastodon.follower import follow
        from streams.ingest.mastodon.producer import kafka_producer_factory

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            config = FollowerConfig.from_settings(
                settings, base_url=base_url, streams=list(streams) or None
            )
            counts = await follow(config, kafka_producer_factory(settings), stop=stop)
        except StreamsError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)
        print(
            f"mastodon: streamed {counts.streamed}, backfilled {counts.backfilled}, "
            f"tombstones {counts.tombstones}, invalid {counts.invalid}, "
            f"connects {counts.connects}; last id {counts.since_id}"
        )
