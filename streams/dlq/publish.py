"""Publishes replayed dead letters to their original topics, then their markers, chunk by chunk."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final, Literal

from aiokafka import AIOKafkaProducer, TopicPartition

from streams.dlq.selection import DeadLetter, Outcome, ReplaySummary
from streams.models.dead_letter import HEADER_PREFIX
from streams.models.replay_marker import ReplayMarker, marker_key

#: Replays awaited before their markers go out: what a crash can make the next run publish again.
CHUNK: Final = 500
#: Names the dead letter a replayed record came from: ``<dlq topic>/<partition>/<offset>``.
REPLAY_HEADER: Final = "replay.from"


def replay_headers(
    headers: Sequence[tuple[str, bytes]], dlq_topic: str, partition: int, offset: int
) -> list[tuple[str, bytes]]:
    """The original's headers (every one but ``dlq.*``) and where the replay came from."""
    kept = [(name, value) for name, value in headers if not name.startswith(HEADER_PREFIX)]
    kept = [(name, value) for name, value in kept if name != REPLAY_HEADER]
    return [*kept, (REPLAY_HEADER, f"{dlq_topic}/{partition}/{offset}".encode())]


class ReplayWriter:
    """Takes the dead letters as pass 3 reads them again and publishes the chosen ones."""

    def __init__(
        self, producer: AIOKafkaProducer, dlq_topic: str, marker_topic: str,
        candidates: Sequence[DeadLetter], outcomes: dict[tuple[int, int], Outcome],
        summary: ReplaySummary, now: datetime,
    ) -> None:  # fmt: skip
        self.producer = producer
        self.dlq_topic = dlq_topic
        self.marker_topic = marker_topic
        self.summary = summary
        self.now = now
        self.replay: dict[tuple[int, int], DeadLetter] = {}
        self.superseded: list[DeadLetter] = []
        #: origin place -> the duplicates standing behind the dead letter replayed for it
        self.twins: defaultdict[tuple[str, int, int], list[DeadLetter]] = defaultdict(list)
        for letter in candidates:
            outcome = outcomes[(letter.partition, letter.offset)]
            assert letter.origin is not None
            if outcome is Outcome.REPLAY:
                self.replay[(letter.partition, letter.offset)] = letter
            elif outcome is Outcome.SUPERSEDED:
                self.superseded.append(letter)
            elif outcome is Outcome.DUPLICATE:
                self.twins[letter.origin.place].append(letter)
        self.pending: list[tuple[DeadLetter, asyncio.Future[Any]]] = []
        self.sent: set[tuple[int, int]] = set()

    def dlq_ranges(self) -> dict[TopicPartition, tuple[int, int]]:
        """The stretch of each dead-letter partition that holds the letters to replay."""
        ranges: dict[TopicPartition, tuple[int, int]] = {}
        for partition, offset in self.replay:
            tp = TopicPartition(self.dlq_topic, partition)
            first, end = ranges.get(tp, (offset, offset + 1))
            ranges[tp] = (min(first, offset), max(end, offset + 1))
        return ranges

    async def take(self, tp: TopicPartition, record: Any) -> None:
        letter = self.replay.get((tp.partition, record.offset))
        if letter is None or letter.origin is None or letter_place(letter) in self.sent:
            return
        self.sent.add(letter_place(letter))
        future = await self.producer.send(
            letter.origin.original_topic,
            key=record.key,
            value=record.value,
            headers=replay_headers(record.headers or (), self.dlq_topic, *letter_place(letter)),
        )
        self.pending.append((letter, future))
        if len(self.pending) >= CHUNK:
            await self.flush()

    async def flush(self) -> None:
        """Wait for the pending replays, then publish and wait for their markers."""
        pending, self.pending = self.pending, []
        markers: list[ReplayMarker] = []
        for letter, future in pending:
            sent = await future
            assert letter.origin is not None
            self.summary.replayed_to[letter.origin.original_topic] += 1
            for each in (letter, *self.twins.get(letter.origin.place, ())):
                markers.append(self.marker(each, "replayed", sent.partition, sent.offset))
        await self._send_markers(markers)

    def count_gone(self) -> None:
        """Chosen dead letters that pass 3 did not find any more (deleted by retention)."""
        for place, letter in self.replay.items():
            if place not in self.sent:
                self.summary.move(letter, Outcome.REPLAY, Outcome.GONE)

    async def mark_superseded(self) -> None:
        await self._send_markers([self.marker(letter, "superseded") for letter in self.superseded])

    async def _send_markers(self, markers: list[ReplayMarker]) -> None:
        futures = []
        for m in markers:
            key = marker_key(m.dlq_partition, m.dlq_offset)
            futures.append(await self.producer.send(self.marker_topic, key=key, value=m.to_bytes()))
        for future in futures:
            await future

    def marker(
        self, letter: DeadLetter, outcome: Literal["replayed", "superseded"],
        partition: int | None = None, offset: int | None = None,
    ) -> ReplayMarker:  # fmt: skip
        origin = letter.origin
        assert origin is not None
        return ReplayMarker(
            dlq_topic=self.dlq_topic, dlq_partition=letter.partition, dlq_offset=letter.offset,
            dlq_timestamp_ms=letter.timestamp_ms, original_topic=origin.original_topic,
            original_partition=origin.original_partition, original_offset=origin.original_offset,
            stage=origin.stage, reason=origin.reason, outcome=outcome,
            replayed_to_partition=partition, replayed_to_offset=offset, replayed_at=self.now,
        )  # fmt: skip


def letter_place(letter: DeadLetter) -> tuple[int, int]:
    return letter.partition, letter.offset
