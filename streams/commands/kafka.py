"""``streams kafka up|down|status``: a local Apache Kafka broker for the no-Docker quickstart."""

from __future__ import annotations

import asyncio
import sys

import click
import faust
from faust.cli import argument, option

from streams.errors import StreamsError
from streams.settings import Settings


def register(app: faust.App, settings: Settings) -> None:
    @app.command(
        argument("action", type=click.Choice(["up", "down", "status", "fetch"])),
        option(
            "--port",
            type=int,
            default=settings.kafka_port,
            help="Port of the broker on 127.0.0.1 (0 picks a free one). Env: STREAMS_KAFKA_PORT.",
        ),
    )
    async def kafka(self: object, action: str, port: int) -> None:
        """Run a local single-node Apache Kafka broker (KRaft) without Docker.

        \b
        up      fetch the broker jars with Maven (once, into ~/.cache/streams), start the
                broker in the background and print its bootstrap address (host:port)
        down    stop it (SIGTERM, then SIGKILL after 20 s) and delete its data
        status  say whether it is up and answering; exit 1 when it is not
        fetch   only fetch the jars (to prepare a machine for offline use)

        Needs Java 17+ and, for the first start, Maven. The jars are cached for next time.
        """
        from streams.kafka.jars import ensure_jars
        from streams.kafka.local_broker import kafka_down, kafka_status, kafka_up

        try:
            if action == "up":
                print(await asyncio.to_thread(kafka_up, settings, port))
            elif action == "fetch":
                jars = await asyncio.to_thread(
                    ensure_jars, settings.cache_dir, settings.kafka_version
                )
                print(f"Apache Kafka {settings.kafka_version} jars in {jars}")
            elif action == "down":
                print(await asyncio.to_thread(kafka_down, settings))
            else:
                ok, text = await asyncio.to_thread(kafka_status, settings)
                print(text)
                if not ok:
                    sys.exit(1)
        except StreamsError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)
