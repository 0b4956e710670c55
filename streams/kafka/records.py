"""The records the agents handle: one as consumed, one to publish, and a dead letter.

Pure: the agents turn Faust's messages (and the benchmark's baseline aiokafka's records) into
:class:`Consumed` with :func:`consumed`, and publish :class:`Outgoing` records themselves.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

from streams.kafka.catalog import DLQ_MAX_MESSAGE_BYTES
from streams.models.dead_letter import DeadLetterHeaders, key_text


class RecordLike(Protocol):
    """What Faust's messages and aiokafka's consumer records have in common."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...


#: Largest original value a dead letter carries (headers and batch overhead need the rest).
DLQ_VALUE_LIMIT = DLQ_MAX_MESSAGE_BYTES - 64 * 1024


@dataclass(frozen=True)
class Consumed:
    """One raw record as the agent consumed it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    #: time.monotonic() when the agent read it.
    read_at: float
    #: The record's own timestamp (producer time), ms since the epoch, when known.
    timestamp_ms: int | None = None


@dataclass(frozen=True)
class Outgoing:
    """A record to publish: to the scored topic or to the dead-letter topic."""

    destination: Literal["scored", "dlq"]
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()
    #: For metrics: which kind of outcome this is.
    outcome: Literal["scored", "cached", "empty", "deleted", "dead_letter"] = "scored"
    #: For dead letters: the stage that failed and why.
    stage: str = ""
    reason: str = ""
    flagged_categories: tuple[str, ...] = ()
    scores: tuple[float, ...] = ()
    #: End-to-end latency (producer timestamp to now), seconds, when known.
    latency_s: float | None = None


def consumed(record: RecordLike, timestamp_ms: int | None) -> Consumed:
    """``record`` as read now; ``timestamp_ms`` is its producer time, when known."""
    return Consumed(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value,
        read_at=time.monotonic(),
        timestamp_ms=timestamp_ms,
    )


def dead_letter(
    record: RecordLike, stage: str, reason: str, exc_name: str, message: str,
    attempts: int = 1, first_failure_at: datetime | None = None,
) -> Outgoing:  # fmt: skip
    headers = DeadLetterHeaders(
        stage=stage,  # type: ignore[arg-type]
        error_class=exc_name,
        reason=reason,
        message=message,
        attempts=attempts,
        first_failure_at=first_failure_at or datetime.now(UTC),
        original_topic=record.topic,
        original_partition=record.partition,
        original_offset=record.offset,
        original_key=key_text(record.key),
    )
    value = record.value or b""
    if len(value) > DLQ_VALUE_LIMIT:
        # Only a raw topic configured above the dead-letter topic's limit gets here; the whole
        # record stays on its topic at the offset the headers name.
        headers = headers.model_copy(
            update={"message": f"value cut from {len(value)} bytes; {headers.message}"}
        )
        value = value[:DLQ_VALUE_LIMIT]
    return Outgoing(
        "dlq", record.key, value, tuple(headers.to_headers()),
        outcome="dead_letter", stage=stage, reason=reason,
    )  # fmt: skip
