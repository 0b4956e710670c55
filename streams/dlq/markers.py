"""The replay-marker topic: created on the first replay, read whole at the start of each one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streams.harvest.export import latest_per_key
from streams.kafka.admin import ensure_topics
from streams.kafka.catalog import TopicSpec
from streams.models.replay_marker import ReplayMarker
from streams.settings import Settings

#: A DLQ without a readable retention keeps its dead letters a week (the broker's default).
DEFAULT_RETENTION_MS = 7 * 24 * 60 * 60 * 1000


def marker_topic(settings: Settings) -> str:
    return settings.topic_dlq_replayed or f"{settings.topic_dlq}.replayed"


def marker_spec(settings: Settings, dlq_configs: dict[str, str]) -> TopicSpec:
    """Compacted (one marker per dead letter) and deleted after the dead-letter topic's own
    retention: a marker is needed only while its dead letter can still be read."""
    retention = int(dlq_configs.get("retention.ms") or DEFAULT_RETENTION_MS)
    policy = "compact" if retention < 0 else "compact,delete"
    return TopicSpec(
        "dlq_replayed", marker_topic(settings), "<dlq partition>:<dlq offset>",
        "ReplayMarker (schemas/dlq-replay-marker)", 1, "compact", retention,
        "dead letters `streams dlq replay` has re-published", {"cleanup.policy": policy},
    )  # fmt: skip


async def create_marker_topic(
    settings: Settings, dlq_configs: dict[str, str], options: dict[str, Any]
) -> None:
    await ensure_topics(
        settings.kafka_bootstrap_servers, [marker_spec(settings, dlq_configs)],
        settings.topic_replication_factor, options,
    )  # fmt: skip


async def read_markers(
    settings: Settings, options: dict[str, Any], progress: Callable[[int, int], None] | None
) -> dict[str, ReplayMarker]:
    """Every marker on the topic, by key; a record that is no marker is ignored (and not
    taken as one: its dead letter is considered again)."""
    latest, _ = await latest_per_key(
        settings.kafka_bootstrap_servers, marker_topic(settings), progress, options
    )
    markers: dict[str, ReplayMarker] = {}
    for key, value in latest.items():
        if value is None:
            continue
        try:
            markers[key] = ReplayMarker.model_validate_json(value)
        except ValueError:
            continue
    return markers
