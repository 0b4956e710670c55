"""The ``streams`` console script: the Faust command line with this project's commands."""

from __future__ import annotations

from typing import NoReturn

HELP = """Kafka-native content moderation for Mastodon posts.

\b
Quick start without Docker:
  streams kafka up                 start a local Apache Kafka broker
  streams worker -l info           run the worker (agents, /metrics)

Configuration comes from STREAMS_* environment variables (and OPENAI_API_KEY);
see the README for the list. `streams COMMAND --help` explains each command.
"""


def main() -> NoReturn:
    from faust.cli.faust import cli

    from streams.app import app

    cli.help = HELP
    app.main()


if __name__ == "__main__":
    main()
