"""What ``streams shadow`` does, apart from its click declaration (``streams.commands.shadow``).

Exit status: 0 the candidate scored every replayed post, 1 it could not score some (the figures
cover the rest), 2 the run could not happen (a topic, the broker, an option, the LLM endpoint).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from streams.errors import BrokerError, ConfigurationError, StreamsError
from streams.settings import Settings
from streams.shadow.compare import Labels
from streams.shadow.replay import ReplayStart
from streams.shadow.results import ShadowReport

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ShadowOptions:
    candidate: str
    calibration: Path | None = None
    start: ReplayStart = field(default_factory=ReplayStart)
    limit: int | None = None
    shadow_topic: str | None = None
    samples: int = 5


def shadow_topic_name(settings: Settings, given: str | None) -> str:
    """``given`` or ``<scored topic>.shadow``; never one of the live topics."""
    name = given or f"{settings.topic_scored}.shadow"
    live = {settings.topic_raw, settings.topic_scored, settings.topic_dlq,
            settings.topic_corrections, settings.topic_training}  # fmt: skip
    if name in live:
        raise ConfigurationError(
            f"--shadow-topic {name} is a live topic: choose another name "
            f"(default {settings.topic_scored}.shadow)"
        )
    return name


def _stage(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def _latest(settings: Settings, topic: str, progress: Progress) -> dict[str, bytes | None]:
    from streams.harvest.export import latest_per_key
    from streams.kafka.client import client_options

    latest, _ = await latest_per_key(
        settings.kafka_bootstrap_servers, topic, progress, client_options(settings)
    )
    return latest


async def _exists(settings: Settings, topic: str) -> bool:
    from streams.kafka.admin import describe_topic
    from streams.kafka.client import client_options

    described = await describe_topic(
        settings.kafka_bootstrap_servers, topic, client_options(settings)
    )
    return described is not None


async def shadow_run(
    settings: Settings, options: ShadowOptions, progress: Progress
) -> ShadowReport:
    """Replay, read both live topics, compare: the report."""
    from streams.kafka.client import check_connection
    from streams.shadow.candidate import parse_candidate
    from streams.shadow.compare import compare, example_labels, live_identity, scored_posts
    from streams.shadow.replay import raw_partitions, replay

    candidate = parse_candidate(options.candidate, settings, options.calibration)
    shadow_topic = shadow_topic_name(settings, options.shadow_topic)
    await check_connection(settings)
    # Before the candidate spends anything: every topic the comparison needs is there.
    await raw_partitions(settings)
    if not await _exists(settings, settings.topic_scored):
        raise BrokerError(
            f"live scored topic {settings.topic_scored} does not exist: set STREAMS_TOPIC_SCORED "
            "to the topic the live workers publish to"
        )
    notes: list[str] = []
    has_training = await _exists(settings, settings.topic_training)
    if not has_training:
        notes.append(
            f"no training topic {settings.topic_training}: precision and recall need the "
            "harvester's examples (STREAMS_TOPIC_TRAINING)"
        )
    _stage(f"replaying {settings.topic_raw} with candidate {candidate.label} -> {shadow_topic}")
    replayed = await replay(
        settings, candidate, shadow_topic, options.start, options.limit, progress
    )
    notes += [f"shadow topic {line}" for line in replayed.drift]
    _stage(f"reading the live scores on {settings.topic_scored}")
    live, live_counts = scored_posts(await _latest(settings, settings.topic_scored, progress))
    labels: dict[str, Labels] = {}
    if has_training:
        _stage(f"reading the training examples on {settings.topic_training}")
        labels, _ = example_labels(await _latest(settings, settings.topic_training, progress))
    if live_counts.unreadable:
        notes.append(f"{live_counts.unreadable} live records are not scored records; left out")
    comparison = compare(live, replayed.posts, labels, options.samples)
    return ShadowReport(
        live_topic=settings.topic_scored,
        training_topic=settings.topic_training,
        live=live_identity(live, [i for i in replayed.posts if i in live]),
        candidate=candidate.identity(),
        replay=replayed.figures,
        comparison=comparison,
        notes=notes,
    )


async def run_command(settings: Settings, options: ShadowOptions, *, as_json: bool) -> int:
    """Run, print the tables (or one JSON object); the exit status."""
    from streams.evaluation.command import INSTALL_HINT, missing_libraries
    from streams.harvest.export import progress_bar

    missing = missing_libraries(plot=False)
    if missing:
        print(f"error: streams shadow needs {', '.join(missing)}: {INSTALL_HINT}", file=sys.stderr)
        return 2
    try:
        report = await shadow_run(settings, options, progress_bar())
    except StreamsError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 2
    if as_json:
        print(json.dumps(report.model_dump(mode="json"), ensure_ascii=False))
    else:
        from streams.shadow.report import render

        print(render(report), end="")
    return 1 if report.replay.dead_lettered else 0
