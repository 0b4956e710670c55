"""The topic catalog: every topic this system reads or writes, and how it must be configured."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from streams.settings import Settings

DAY_MS = 24 * 60 * 60 * 1000
#: A dead letter carries its original record whole plus headers: room above the 1 MiB default.
DLQ_MAX_MESSAGE_BYTES = 2 * 1024 * 1024
#: max.message.bytes of the harvester's table changelogs, set explicitly rather than inherited
#: from the broker; the harvester keeps every table record below TABLE_RECORD_MAX_BYTES.
TABLE_CHANGELOG_MAX_MESSAGE_BYTES = 1024 * 1024
#: A table record's bound: half the changelog's limit leaves room for the key, the record
#: batch's overhead and a serialiser that escapes more than ours.
TABLE_RECORD_MAX_BYTES = TABLE_CHANGELOG_MAX_MESSAGE_BYTES // 2

CleanupPolicy = Literal["delete", "compact"]


@dataclass(frozen=True)
class TopicSpec:
    """One topic: its default name, what its keys and values are, and its configuration."""

    role: str
    name: str
    key: str
    value: str
    partitions: int
    cleanup_policy: CleanupPolicy
    #: retention.ms; -1 keeps records forever (compacted topics keep the latest per key).
    retention_ms: int
    description: str
    extra_configs: dict[str, str] = field(default_factory=dict)

    def configs(self) -> dict[str, str]:
        return {
            "cleanup.policy": self.cleanup_policy,
            "retention.ms": str(self.retention_ms),
            **self.extra_configs,
        }


def _days(days: float) -> int:
    return round(days * DAY_MS)


def catalog(settings: Settings) -> list[TopicSpec]:
    """Every topic of the pipeline, with names from the settings."""
    partitions = settings.topic_partitions
    return [
        TopicSpec(
            "raw", settings.topic_raw, "status id",
            "Mastodon Status JSON (schemas/mastodon-status)", partitions, "delete",
            _days(settings.raw_retention_days),
            "posts to score, as Mastodon's API returns them; a tombstone deletes a post; "
            "STREAMS_RAW_RETENTION_DAYS",
        ),
        TopicSpec(
            "scored", settings.topic_scored, "status id", "ScoredStatus (schemas/scored-status)",
            partitions, "compact", -1,
            "one scored record per post; compaction keeps its latest score",
        ),
        TopicSpec(
            "dlq", settings.topic_dlq, "original key", "original bytes; reason in dlq.* headers",
            partitions, "delete", 30 * DAY_MS,
            "records that could not be processed, with the reason (schemas/dead-letter-headers)",
            {"max.message.bytes": str(DLQ_MAX_MESSAGE_BYTES)},
        ),
        TopicSpec(
            "corrections", settings.topic_corrections, "status id",
            "Correction (schemas/correction)", partitions, "delete",
            _days(settings.corrections_retention_days),
            "moderators' corrections, with the texts they carry, until they expire "
            "(STREAMS_CORRECTIONS_RETENTION_DAYS); the training topic keeps each post's example",
        ),
        TopicSpec(
            "training", settings.topic_training, "status id",
            "TrainingExample (schemas/training-example)", partitions, "compact", -1,
            "the current training example of every post; a tombstone erases one",
        ),
        TopicSpec(
            "actions", settings.topic_actions, "status id", "ActionRecord (schemas/action)",
            partitions, "compact", -1,
            "the latest state of the action on every flagged post (planned, done, failed); "
            "read whole by every worker so no post is reported twice",
            # Compaction may drop a superseded plan only well after every worker has read it.
            {"min.compaction.lag.ms": str(DAY_MS)},
        ),
        TopicSpec(
            "action_control", settings.topic_action_control, "\"actions\"",
            "ActionSwitch (schemas/action-switch)", 1, "compact", -1,
            "the stop switch of the actions: its latest record holds for every worker",
        ),
        TopicSpec(
            "calibration", settings.topic_calibration, "backend/model/prompt version",
            "CalibrationMap (streams calibrate)", 1, "compact", -1,
            "the calibration map of each scoring configuration; workers apply their own's latest",
        ),
    ]  # fmt: skip


@dataclass(frozen=True)
class TopicReport:
    name: str
    outcome: Literal["created", "ok", "drift"]
    drift: tuple[str, ...] = ()

    def line(self) -> str:
        if self.outcome == "drift":
            return f"{self.name}: DRIFT: {'; '.join(self.drift)}"
        return f"{self.name}: {self.outcome}"


def compare(spec: TopicSpec, partitions: int, configs: dict[str, str]) -> tuple[str, ...]:
    """How an existing topic differs from its spec (empty when it matches)."""
    drift = []
    if partitions != spec.partitions:
        drift.append(f"partitions {partitions}, catalog says {spec.partitions}")
    for key, wanted in spec.configs().items():
        actual = configs.get(key)
        if actual != wanted:
            drift.append(f"{key}={actual}, catalog says {wanted}")
    return tuple(drift)
