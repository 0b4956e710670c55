"""``streams kafka up|down|status``: a local Apache Kafka broker for the no-Docker quickstart."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click
import faust
from faust.cli import argument, option

from streams import kafka_launcher as launcher
from streams.errors import StreamsError
from streams.settings import Settings


def state_file(settings: Settings) -> Path:
    return settings.cache_dir / "run" / "kafka.json"


def kafka_up(settings: Settings, port: int) -> str:
    """Start the broker unless it runs already; return its bootstrap address."""
    state = state_file(settings)
    running = launcher.BrokerHandle.load(state)
    if running and launcher.pid_alive(running.pid):
        print(
            f"already running (pid {running.pid}, log {running.log_file})", file=sys.stderr
        )
        return running.bootstrap
    handle = launcher.start_broker(
        cache_dir=settings.cache_dir,
        version=settings.kafka_version,
        port=port,
        heap=settings.kafka_heap,
        timeout_s=settings.kafka_start_timeout_s,
    )
    handle.save(state)
    return handle.bootstrap


def kafka_down(settings: Settings) -> str:
    state = state_file(settings)
    handle = launcher.BrokerHandle.load(state)
    if handle is None:
        return "no broker started by `streams kafka up` is known"
    how = launcher.stop_broker(handle)
    state.unlink(missing_ok=True)
    return f"broker {handle.bootstrap} (pid {handle.pid}) {how}"


def kafka_status(settings: Settings) -> tuple[bool, str]:
    handle = launcher.BrokerHandle.load(state_file(settings))
    if handle is None:
        return False, "down: no broker started by `streams kafka up`"
    if not launcher.pid_alive(handle.pid):
        return False, f"down: pid {handle.pid} is gone (log {handle.log_file})"
    if not launcher.broker_answers(handle.bootstrap):
        return False, f"not answering: {handle.bootstrap} (pid {handle.pid}, log {handle.log_file})"
    return True, f"up: {handle.bootstrap} (pid {handle.pid}, Kafka {handle.version})"


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
        try:
            if action == "up":
                print(await asyncio.to_thread(kafka_up, settings, port))
            elif action == "fetch":
                jars = await asyncio.to_thread(
                    launcher.ensure_jars, settings.cache_dir, settings.kafka_version
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
