"""The ``streams`` console script: the Faust command line with this project's commands."""

from __future__ import annotations

import sys
from typing import NoReturn

HELP = """Kafka-native content moderation for Mastodon posts.

\b
Quick start without Docker:
  streams kafka up                 start a local Apache Kafka broker
  streams worker -l info           run the worker (agents, /metrics)

Configuration comes from STREAMS_* environment variables (and OPENAI_API_KEY);
see the README for the list. `streams COMMAND --help` explains each command.
"""


def preflight_worker() -> None:
    """Before a worker starts: reach and authenticate to the broker, or exit naming the cause.

    Faust's own clients would retry a wrong password or an untrusted certificate forever.
    """
    import asyncio

    from streams.errors import StreamsError
    from streams.kafka.admin import prepare_worker_topics
    from streams.kafka.client import check_connection
    from streams.settings import get_settings

    settings = get_settings()
    try:
        asyncio.run(check_connection(settings))
        for warning in asyncio.run(prepare_worker_topics(settings)):
            print(f"warning: {warning}", file=sys.stderr)
    except StreamsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


def main() -> NoReturn:
    from faust.cli.faust import cli

    from streams.app import app
    from streams.commands import register_all
    from streams.settings import get_settings

    register_all(app, get_settings())
    if "worker" in sys.argv[1:]:
        preflight_worker()
    cli.help = HELP
    app.main()


if __name__ == "__main__":
    main()
