"""Replays the raw topic through the candidate and publishes what it scores to the shadow topic.

The raw topic is read without a consumer group: partitions are assigned and sought, nothing is
ever committed, so the live group's offsets cannot move and the live workers see no new member.
The run ends at the end offsets of when it started; posts arriving meanwhile are left to live.

Records are scored in windows of ``max_batches_in_flight`` batches of ``batch_size``, by the
classifier a worker runs (repeat cache and per-post attempts included), and a window's records
are published in input order before the next window is read, so the latest record of a post on
the compacted shadow topic is its latest version. Records the candidate cannot score are
counted by reason and published nowhere: the dead-letter topic is live.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.errors import BrokerError, RetriableLLMError
from streams.kafka.admin import describe_topic, ensure_topics
from streams.kafka.catalog import TopicSpec
from streams.kafka.client import client_options
from streams.kafka.records import Consumed, consumed
from streams.models.scored import ScoredStatus
from streams.scoring.batch import BatchReport, Classifier
from streams.settings import Settings
from streams.shadow.candidate import Candidate
from streams.shadow.compare import PostScores
from streams.shadow.results import PartitionRange, ReplayFigures

Progress = Callable[[int, int], None]
#: Header on every shadow record: the candidate spec that scored it.
CANDIDATE_HEADER = "shadow.candidate"


@dataclass(frozen=True)
class ReplayStart:
    """Where each partition's replay starts: a time, an offset, or (neither) the beginning."""

    since: datetime | None = None
    offset: int | None = None

    def describe(self) -> str:
        if self.since is not None:
            return f"since {self.since.isoformat()}"
        if self.offset is not None:
            return f"offset {self.offset}"
        return "the beginning"


@dataclass
class ReplayResult:
    figures: ReplayFigures
    #: The candidate's latest scores per post (deleted posts left out).
    posts: dict[str, PostScores]
    drift: list[str] = field(default_factory=list)


def shadow_topic_spec(name: str, partitions: int) -> TopicSpec:
    """Compacted like the scored topic, and partitioned like the raw one (keys share partitions)."""
    return TopicSpec(
        "shadow", name, "status id", "ScoredStatus (schemas/scored-status)", partitions,
        "compact", -1, "a candidate's scored records, from `streams shadow`",
    )  # fmt: skip


async def raw_partitions(settings: Settings) -> int:
    described = await describe_topic(
        settings.kafka_bootstrap_servers, settings.topic_raw, client_options(settings)
    )
    if described is None:
        raise BrokerError(
            f"raw topic {settings.topic_raw} does not exist: set STREAMS_TOPIC_RAW to the topic "
            "the platform publishes to"
        )
    return described[0]


async def _start_offsets(
    consumer: AIOKafkaConsumer,
    tps: list[TopicPartition],
    start: ReplayStart,
    begin: dict[TopicPartition, int],
    end: dict[TopicPartition, int],
) -> dict[TopicPartition, int]:
    if start.since is not None:
        ms = int(start.since.timestamp() * 1000)
        found = await consumer.offsets_for_times(dict.fromkeys(tps, ms))
        return {tp: found[tp].offset if found.get(tp) else end[tp] for tp in tps}
    if start.offset is not None:
        return {tp: min(max(start.offset, begin[tp]), end[tp]) for tp in tps}
    return dict(begin)


class _Replay:
    def __init__(
        self, candidate: Candidate, classifier: Classifier, producer: AIOKafkaProducer,
        shadow_topic: str,
    ) -> None:  # fmt: skip
        self.candidate = candidate
        self.classifier = classifier
        self.producer = producer
        self.shadow_topic = shadow_topic
        self.headers = [(CANDIDATE_HEADER, candidate.label.encode())]
        self.posts: dict[str, PostScores] = {}
        self.counts: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.calls = 0

    @property
    def window(self) -> int:
        settings = self.candidate.settings
        return settings.batch_size * settings.max_batches_in_flight

    async def score(self, records: list[Consumed]) -> None:
        """Score one window and publish it in input order; returns once the broker has it."""
        size = self.candidate.settings.batch_size
        batches = [records[i : i + size] for i in range(0, len(records), size)]
        reports = await asyncio.gather(*(self.classifier.process(b) for b in batches))
        if not self.counts and all(_unreachable(report) for report in reports):
            raise RetriableLLMError(
                f"the candidate's LLM endpoint did not answer ({self.candidate.label}): check "
                "its base URL and key; nothing was published"
            )
        futures = []
        for report in reports:
            futures += await self._publish(report)
        await asyncio.gather(*futures)

    async def _publish(self, report: BatchReport) -> list[asyncio.Future[Any]]:
        self.calls += report.run.calls
        futures = []
        for output in report.outputs:
            if output.destination == "dlq":
                self.counts["dead_lettered"] += 1
                self.reasons[f"{output.stage}:{output.reason}"] += 1
                continue
            futures.append(
                await self.producer.send(
                    self.shadow_topic, output.value, output.key, headers=self.headers
                )
            )
            status_id = (output.key or b"").decode()
            if output.value is None:
                self.counts["deleted"] += 1
                self.posts.pop(status_id, None)
            else:
                self.counts["scored"] += 1
                self.posts[status_id] = PostScores.of(
                    ScoredStatus.model_validate_json(output.value)
                )
        return futures


def _unreachable(report: BatchReport) -> bool:
    """Every post of the batch failed because no call reached the LLM."""
    return bool(report.outputs) and all(
        output.reason == "llm_unavailable" for output in report.outputs
    )


async def _read(
    consumer: AIOKafkaConsumer,
    work: _Replay,
    ranges: dict[TopicPartition, tuple[int, int]],
    limit: int | None,
    progress: Progress | None,
) -> int:
    """Read every range (at most ``limit`` records), scoring window by window."""
    total = sum(e - s for s, e in ranges.values())
    total = min(total, limit) if limit is not None else total
    remaining = {tp for tp, (s, e) in ranges.items() if e > s}
    pending: list[Consumed] = []
    read = 0
    if progress:
        progress(0, total)
    while remaining and read < total:
        batches = await consumer.getmany(*remaining, timeout_ms=1000)
        for tp, records in batches.items():
            for record in records:
                if record.offset < ranges[tp][1] and read < total:
                    pending.append(consumed(record, record.timestamp))
                    read += 1
            if await consumer.position(tp) >= ranges[tp][1]:
                remaining.discard(tp)
        while len(pending) >= work.window or (pending and (not remaining or read >= total)):
            window, pending = pending[: work.window], pending[work.window :]
            await work.score(window)
            if progress:
                progress(read - len(pending), total)
    return read


async def replay(
    settings: Settings,
    candidate: Candidate,
    shadow_topic: str,
    start: ReplayStart,
    limit: int | None = None,
    progress: Progress | None = None,
) -> ReplayResult:
    """Score the raw topic's records with ``candidate`` and publish them to ``shadow_topic``."""
    started = time.monotonic()
    bootstrap, options = settings.kafka_bootstrap_servers, client_options(settings)
    partitions = await raw_partitions(settings)
    reports = await ensure_topics(
        bootstrap, [shadow_topic_spec(shadow_topic, partitions)],
        settings.topic_replication_factor, options,
    )  # fmt: skip
    # No group: nothing to commit, no member joining anyone's group. "earliest": a start
    # offset that retention removed meanwhile means the oldest record left, not the newest.
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest", **options,
    )  # fmt: skip
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, **options
    )
    backend = candidate.backend()
    try:
        try:
            await consumer.start()
            await producer.start()
        except Exception as exc:
            raise BrokerError(f"cannot reach Kafka at {bootstrap}: {exc}") from exc
        tps = [TopicPartition(settings.topic_raw, p) for p in range(partitions)]
        consumer.assign(tps)
        begin, end = await consumer.beginning_offsets(tps), await consumer.end_offsets(tps)
        first = await _start_offsets(consumer, tps, start, begin, end)
        ranges = {tp: (first[tp], end[tp]) for tp in tps}
        for tp in tps:
            consumer.seek(tp, first[tp])
        work = _Replay(candidate, candidate.classifier(backend), producer, shadow_topic)
        read = await _read(consumer, work, ranges, limit, progress)
    finally:
        await backend.close()
        await consumer.stop()
        await producer.stop()
    figures = ReplayFigures(
        raw_topic=settings.topic_raw,
        shadow_topic=shadow_topic,
        start=start.describe(),
        partitions=[PartitionRange(partition=tp.partition, start=s, end=e)
                    for tp, (s, e) in sorted(ranges.items(), key=lambda i: i[0].partition)],
        records=read,
        scored=work.counts["scored"],
        deleted=work.counts["deleted"],
        dead_lettered=work.counts["dead_lettered"],
        dead_letter_reasons=dict(sorted(work.reasons.items())),
        llm_calls=work.calls,
        seconds=time.monotonic() - started,
    )  # fmt: skip
    return ReplayResult(figures, work.posts, [r.line() for r in reports if r.outcome == "drift"])
