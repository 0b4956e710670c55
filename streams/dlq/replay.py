"""``streams dlq replay``: re-publishes dead letters to the topics they came from.

Three passes, so that a long run shows progress and never holds dead letters' values in memory:

1. read the dead-letter topic (from ``--since`` on, by the broker's time index) up to its end
   as of the start, choosing by stage, reason, time and marker (``streams.dlq.selection``);
2. read the raw topic from the oldest chosen offset on, for later records of the same keys
   on the same partition: a post edited or deleted since it was dead-lettered is superseded,
   not replayed (after a change of the topic's partition count, later records of a key may
   sit on another partition, unseen);
3. read the chosen dead letters again and publish each one's key, value and non-``dlq.*``
   headers (plus ``replay.from: <dlq>/<partition>/<offset>``) to its original topic, keyed as
   it was, so the partitioner puts it where the key's records go today. Its timestamp is the
   replay's: an old one would age out of the topic's retention at once.

Why a marker topic. A consumer group's committed offset says "everything before here", but a
replay chooses by reason, stage and time, so what it left behind must stay replayable by the
next run with other filters. So each dead letter replayed gets a marker keyed by where it sits
on the dead-letter topic, ``<partition>:<offset>``, on a compacted topic (``<dlq>.replayed``)
whose retention is the dead-letter topic's: a marker lives as long as its dead letter. The
marker also holds the dead letter's timestamp and origin, and counts only when they match, so a
dead-letter topic deleted and created again (offsets from 0) is not taken as replayed.

Order and crashes: a chunk of replays is published and acknowledged (idempotent, acks=all)
before its markers are published. A crash in between replays that chunk again on the next run,
unless pass 2 sees the earlier copy as a later record of its key (the raw topic): at least
once, never lost, and a duplicate has the same key and bytes.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from streams.dlq.markers import create_marker_topic, marker_topic, read_markers
from streams.dlq.publish import ReplayWriter
from streams.dlq.selection import (
    Criteria,
    DeadLetter,
    Outcome,
    ReplaySummary,
    read_origin,
    select,
    settle,
)
from streams.errors import BrokerError, ConfigurationError
from streams.kafka.admin import describe_topic
from streams.kafka.client import check_connection, client_options
from streams.models.replay_marker import ReplayMarker, marker_key
from streams.settings import Settings

#: (phase, done, total) -> None
Progress = Callable[[str, int, int], None]


async def replay_dead_letters(
    settings: Settings, criteria: Criteria, *, dry_run: bool, progress: Progress | None = None
) -> ReplaySummary:
    """Replay what ``criteria`` select (nothing published and nothing marked with ``dry_run``)."""
    started = time.monotonic()
    summary = ReplaySummary(dry_run=dry_run)
    await check_connection(settings)
    options = client_options(settings)
    dlq = settings.topic_dlq
    described = await describe_topic(settings.kafka_bootstrap_servers, dlq, options)
    if described is None:
        raise ConfigurationError(
            f"dead-letter topic {dlq} does not exist on {settings.kafka_bootstrap_servers}: "
            "check STREAMS_TOPIC_DLQ and STREAMS_KAFKA_BOOTSTRAP_SERVERS"
        )
    partitions, dlq_configs = described
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False, **options
    )
    await consumer.start()
    try:
        topics = frozenset(await consumer.topics())
        markers: dict[str, ReplayMarker] = {}
        if marker_topic(settings) in topics:
            markers = await read_markers(settings, options, _phase(progress, "reading markers"))
        elif not dry_run:
            await create_marker_topic(settings, dlq_configs, options)
        tps = [TopicPartition(dlq, p) for p in range(partitions)]
        candidates = await _scan(consumer, tps, criteria, markers, topics, summary, progress)
        latest = await _latest_offsets(consumer, candidates, settings.topic_raw, progress)
        outcomes = settle(candidates, latest, frozenset({settings.topic_raw}))
        for letter in candidates:
            summary.add(letter, outcomes[(letter.partition, letter.offset)])
        if not dry_run and candidates:
            await _publish(settings, consumer, options, candidates, outcomes, summary, progress)
        else:
            for letter in candidates:
                if outcomes[(letter.partition, letter.offset)] is Outcome.REPLAY:
                    assert letter.origin is not None
                    summary.replayed_to[letter.origin.original_topic] += 1
    except KafkaError as exc:
        raise BrokerError(
            f"replay stopped: {type(exc).__name__}: {exc}; run it again: what was replayed is "
            "marked, and at most the last unconfirmed chunk is published twice"
        ) from exc
    finally:
        await consumer.stop()
    summary.seconds = time.monotonic() - started
    return summary


def _phase(progress: Progress | None, name: str) -> Callable[[int, int], None] | None:
    if progress is None:
        return None
    return lambda done, total: progress(name, done, total)


async def _start_offsets(
    consumer: AIOKafkaConsumer, tps: list[TopicPartition], since: datetime | None
) -> dict[TopicPartition, int]:
    """Where each partition is read from: its start, or the first record at ``since``."""
    begin: dict[TopicPartition, int] = await consumer.beginning_offsets(tps)
    end: dict[TopicPartition, int] = await consumer.end_offsets(tps)
    if since is None:
        return begin
    found = await consumer.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in tps})
    return {tp: found[tp].offset if found.get(tp) else end[tp] for tp in tps}


async def _scan(
    consumer: AIOKafkaConsumer, tps: list[TopicPartition], criteria: Criteria,
    markers: dict[str, ReplayMarker], topics: frozenset[str], summary: ReplaySummary,
    progress: Progress | None,
) -> list[DeadLetter]:  # fmt: skip
    """Pass 1: every dead letter up to the end as of now, tallied; the chosen ones returned."""
    start = await _start_offsets(consumer, tps, criteria.since)
    begin = await consumer.beginning_offsets(tps)
    end = await consumer.end_offsets(tps)
    summary.skipped_before_since = sum(start[tp] - begin[tp] for tp in tps)
    candidates: list[DeadLetter] = []

    async def take(tp: TopicPartition, record: Any) -> None:
        letter = DeadLetter(
            tp.partition, record.offset, record.timestamp, record.key,
            read_origin(record.headers or ()),
        )  # fmt: skip
        marker = markers.get(marker_key(tp.partition, record.offset).decode())
        outcome = select(letter, criteria, marker, topics)
        if outcome is Outcome.REPLAY:
            candidates.append(letter)
        else:
            summary.add(letter, outcome)
        summary.read += 1

    await _read_ranges(consumer, {tp: (start[tp], end[tp]) for tp in tps}, take,
                       _phase(progress, "reading dead letters"))  # fmt: skip
    return candidates


async def _read_ranges(
    consumer: AIOKafkaConsumer,
    ranges: dict[TopicPartition, tuple[int, int]],
    take: Callable[[TopicPartition, Any], Awaitable[None]],
    progress: Callable[[int, int], None] | None,
) -> None:
    """Hand every record of ``[first, end)`` of each partition to ``take``, in offset order."""
    ranges = {tp: r for tp, r in ranges.items() if r[1] > r[0]}
    total = sum(end - first for first, end in ranges.values())
    done = dict.fromkeys(ranges, 0)
    if progress:
        progress(0, total)
    if not ranges:
        return
    consumer.assign(list(ranges))
    for tp, (first, _) in ranges.items():
        consumer.seek(tp, first)
    remaining = set(ranges)
    while remaining:
        batches = await consumer.getmany(*remaining, timeout_ms=1000)
        for tp, records in batches.items():
            first, end = ranges[tp]
            for record in records:
                if record.offset < end:
                    await take(tp, record)
            position = await consumer.position(tp)
            done[tp] = min(position, end) - first
            if position >= end:
                remaining.discard(tp)
        if progress:
            progress(sum(done.values()), total)


async def _latest_offsets(
    consumer: AIOKafkaConsumer, candidates: list[DeadLetter], keyed_topic: str,
    progress: Progress | None,
) -> dict[tuple[str, int, bytes | None], int]:  # fmt: skip
    """Pass 2: the last offset of each candidate's key on its original partition, read from
    the oldest candidate's offset (on ``keyed_topic`` only, whose later records supersede)."""
    keys: dict[TopicPartition, set[bytes | None]] = {}
    first: dict[TopicPartition, int] = {}
    for letter in candidates:
        assert letter.origin is not None
        if letter.origin.original_topic != keyed_topic:
            continue
        tp = TopicPartition(keyed_topic, letter.origin.original_partition)
        keys.setdefault(tp, set()).add(letter.key)
        first[tp] = min(first.get(tp, letter.origin.original_offset), letter.origin.original_offset)
    if not keys:
        return {}
    begin = await consumer.beginning_offsets(list(keys))
    end = await consumer.end_offsets(list(keys))
    latest: dict[tuple[str, int, bytes | None], int] = {}

    async def take(tp: TopicPartition, record: Any) -> None:
        if record.key in keys[tp]:
            latest[(tp.topic, tp.partition, record.key)] = record.offset

    ranges = {tp: (max(first[tp], begin[tp]), end[tp]) for tp in keys}
    await _read_ranges(consumer, ranges, take, _phase(progress, "checking for later versions"))
    return latest


async def _publish(
    settings: Settings, consumer: AIOKafkaConsumer, options: dict[str, Any],
    candidates: list[DeadLetter], outcomes: dict[tuple[int, int], Outcome],
    summary: ReplaySummary, progress: Progress | None,
) -> None:  # fmt: skip
    """Pass 3: publish the chosen dead letters, then mark them; mark the superseded and the
    duplicates along with the record they stand behind."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", enable_idempotence=True,
        linger_ms=5, max_request_size=4 * 1024 * 1024, **options,
    )  # fmt: skip
    await producer.start()
    try:
        writer = ReplayWriter(
            producer, settings.topic_dlq, marker_topic(settings), candidates, outcomes, summary,
            datetime.now(UTC),
        )  # fmt: skip
        await writer.mark_superseded()
        ranges = writer.dlq_ranges()
        await _read_ranges(consumer, ranges, writer.take, _phase(progress, "replaying"))
        await writer.flush()
        writer.count_gone()
    finally:
        await producer.stop()
