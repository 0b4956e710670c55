"""``streams demo``: the whole pipeline on the bundled sample, with a summary."""

from __future__ import annotations

import sys

import faust
from faust.cli import option

from streams.errors import StreamsError
from streams.settings import Settings


def register(app: faust.App, settings: Settings) -> None:
    @app.command(
        option("--timeout", type=float, default=300.0, help="Seconds to wait for all scores."),
    )
    async def demo(self: object, timeout: float) -> None:
        """Score the bundled sample of Mastodon posts end to end and print a summary.

        Starts a local Kafka broker (unless STREAMS_KAFKA_BOOTSTRAP_SERVERS is set), creates
        the topics, starts a worker, publishes a few hundred Dutch and English posts (boosts,
        content warnings, alt texts, edits), waits until each is scored or dead-lettered,
        and prints posts scored, flagged per category, dead letters, tokens and time, then
        an evaluation against the sample's hand labels (precision and recall per category).
        Without OPENAI_API_KEY the offline lexicon baseline scores them.
        """
        import asyncio

        from streams.demo.run import run_demo

        try:
            await asyncio.to_thread(run_demo, settings, timeout)
        except StreamsError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)
