"""The ``streams`` subcommands: thin click declarations that import their work only when run.

Only ``streams.cli`` registers them, so a worker process never loads a benchmark or chaos
harness; nothing else in the package imports this folder.
"""

from __future__ import annotations

import faust

from streams.commands import (
    actions,
    bench,
    calibrate,
    chaos,
    demo,
    dlq,
    evaluate,
    harvest,
    ingest,
    kafka,
    llm,
    produce,
    schemas,
    shadow,
    topics,
)
from streams.settings import Settings


def register_all(app: faust.App, settings: Settings) -> None:
    """Add every subcommand to ``app``'s command line."""
    for command in (
        kafka, harvest, dlq, demo, topics, produce, ingest, schemas, evaluate, shadow, actions,
        llm, bench, chaos, calibrate,
    ):  # fmt: skip
        command.register(app, settings)
