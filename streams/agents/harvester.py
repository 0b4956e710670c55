"""The harvester: moderators' corrections in, one current training example per post out.

Two agents share one partition's state (the corrections and raw topics are co-partitioned by
status id): ``post_texts`` keeps a bounded table of post texts (and erases deleted posts),
``harvest`` merges each correction into the post's corrections (a table) and publishes the
example the policy derives. A correction is acked only when its example is on the training
topic and in an fsynced JSONL line, or it is dead-lettered; acks go out in offset order.
A correction without text waits, unacked, for its post's text, and is dead-lettered after
``text_wait_s``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import faust
from pydantic import ValidationError

from streams import metrics
from streams.agents.consuming import catalog_topics, report_jump
from streams.agents.ordered_acks import OrderedAcks, Ticket
from streams.agents.shutdown import ShutdownGuard
from streams.harvest.jsonl_sink import DailyJsonlSink
from streams.harvest.policy import build_training_example, merge_correction
from streams.kafka.records import dead_letter
from streams.models.corrections import Correction
from streams.models.status import RawRecordError, StatusDeleted, parse_raw_record
from streams.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class _Waiting:
    event: faust.EventT[Any]
    ticket: Ticket
    since: float


@dataclass
class FeedbackCounts:
    """Counts of the corrections this worker has read, for ``GET /api/feedback/summary``."""

    by_feedback_type: Counter[str] = field(default_factory=Counter)
    by_source: Counter[str] = field(default_factory=Counter)
    by_category: Counter[str] = field(default_factory=Counter)

    def add(self, correction: Correction) -> None:
        self.by_feedback_type[correction.feedback_type] += 1
        self.by_source[correction.source] += 1
        self.by_category.update(c.value for c in correction.expected_categories)

    def as_json(self) -> dict[str, Any]:
        return {
            "total": sum(self.by_source.values()),
            "by_feedback_type": dict(self.by_feedback_type),
            "by_source": dict(self.by_source),
            "by_category": dict(self.by_category),
        }


class HarvesterAgent:
    def __init__(self, app: faust.App, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        topics = catalog_topics(app, settings)
        self.raw, self.dlq = topics["raw"], topics["dlq"]
        self.corrections_topic, self.training = topics["corrections"], topics["training"]
        self.corrections = app.Table(
            "harvest-corrections", default=None, key_type=str,
            partitions=self.corrections_topic.partitions,
        )  # fmt: skip
        self.texts = app.Table(
            "harvest-texts", default=None, key_type=str,
            partitions=self.raw.partitions,
        )  # fmt: skip
        self.text_order: OrderedDict[str, None] = OrderedDict()
        self.acks: OrderedAcks[faust.EventT[Any]] = OrderedAcks()
        self.waiting: dict[str, list[_Waiting]] = {}
        #: Examples published and buffered in the sink, with the tickets they complete.
        self.unflushed: list[tuple[Ticket, Awaitable[Any] | None]] = []
        self.sink: DailyJsonlSink | None = None
        self.lock = asyncio.Lock()
        self.counts = FeedbackCounts()

    async def start(self) -> None:
        if self.sink is None:
            await self.training.maybe_declare()
            await self.dlq.maybe_declare()
            self.sink = DailyJsonlSink(self.settings.harvest_directory)
            if self.sink.repaired_bytes:
                log.warning(
                    "harvest JSONL: cut %d bytes of a torn last line left by a crash",
                    self.sink.repaired_bytes,
                )

    # --- corrections -------------------------------------------------------------------
    async def on_correction(self, event: faust.EventT[Any]) -> None:
        message = event.message
        report_jump(log, self.acks, message, "corrections between were not harvested")
        ticket = self.acks.track(message.tp, message.offset, event)
        try:
            correction = Correction.model_validate_json(message.value or b"")
        except ValidationError as exc:
            await self._dead_letter(event, ticket, "invalid_correction", _first_error(exc))
            return
        metrics.CORRECTIONS.labels(correction.source, correction.feedback_type).inc()
        self.counts.add(correction)
        stored = self.corrections.get(correction.status_id) or []
        merged = merge_correction(
            [Correction.model_validate(c) for c in stored], correction
        )
        self.corrections[correction.status_id] = [c.model_dump(mode="json") for c in merged]
        if not await self._publish_example(correction.status_id, merged, [ticket]):
            self.waiting.setdefault(correction.status_id, []).append(
                _Waiting(event, ticket, time.monotonic())
            )

    async def _publish_example(
        self, status_id: str, corrections: list[Correction], tickets: list[Ticket]
    ) -> bool:
        """Publish the post's current example; False when its text is not known yet."""
        cached = self.texts.get(status_id)
        text, language = (cached["text"], cached.get("language")) if cached else (None, None)
        example = build_training_example(
            status_id, corrections, text, language, harvested_at=datetime.now(UTC)
        )
        if example is None:
            return False
        assert self.sink is not None
        future = await self.app.producer.send(
            self.training.get_topic_name(), status_id.encode(), example.to_bytes(), None, None, None
        )
        self.sink.add(example)
        metrics.TRAINING_EXAMPLES.labels("published").inc()
        self.unflushed.append((tickets[0], future))
        self.unflushed.extend((t, None) for t in tickets[1:])
        return True

    # --- post texts and deletions -------------------------------------------------------
    async def on_raw(self, event: faust.EventT[Any]) -> None:
        message = event.message
        try:
            parsed = parse_raw_record(message.key, message.value)
        except RawRecordError:
            return  # the classifier dead-letters bad raw records; nothing to keep here
        if isinstance(parsed, StatusDeleted):
            await self._erase(parsed.status_id)
            return
        if not parsed.text.strip():
            return
        self.texts[parsed.status_id] = {"text": parsed.text, "language": parsed.language}
        self.text_order[parsed.status_id] = None
        self.text_order.move_to_end(parsed.status_id)
        while len(self.text_order) > self.settings.text_cache_size:
            oldest, _ = self.text_order.popitem(last=False)
            self.texts.pop(oldest, None)
        waiting = self.waiting.pop(parsed.status_id, None)
        if waiting:
            stored = self.corrections.get(parsed.status_id) or []
            corrections = [Correction.model_validate(c) for c in stored]
            await self._publish_example(parsed.status_id, corrections, [w.ticket for w in waiting])

    async def _erase(self, status_id: str) -> None:
        self.texts.pop(status_id, None)
        self.text_order.pop(status_id, None)
        had_example = self.corrections.pop(status_id, None) is not None
        for waiting in self.waiting.pop(status_id, []):
            await self._dead_letter(
                waiting.event, waiting.ticket, "status_deleted", "the post was deleted"
            )
        if had_example:
            future = await self.app.producer.send(
                self.training.get_topic_name(), status_id.encode(), None, None, None, None
            )
            await future
            metrics.TRAINING_EXAMPLES.labels("erased").inc()

    # --- dead letters, expiry, flushing -------------------------------------------------
    async def _dead_letter(
        self, event: faust.EventT[Any], ticket: Ticket, reason: str, message: str
    ) -> None:
        msg = event.message
        output = dead_letter(msg, "harvest", reason, "HarvestError", message)
        future = await self.app.producer.send(
            self.dlq.get_topic_name(), output.key, output.value, None, None, list(output.headers)
        )
        metrics.DEAD_LETTERS.labels("harvest", reason).inc()
        self.unflushed.append((ticket, future))

    async def expire_waiting(self) -> None:
        deadline = time.monotonic() - self.settings.text_wait_s
        for status_id in [s for s, w in self.waiting.items() if w[0].since <= deadline]:
            for waiting in self.waiting.pop(status_id):
                await self._dead_letter(
                    waiting.event, waiting.ticket, "text_wait_expired",
                    f"no text for status {status_id} within {self.settings.text_wait_s:.0f} s",
                )  # fmt: skip

    async def flush(self) -> None:
        """fsync the JSONL lines, await the broker, then ack what they complete, in order."""
        async with self.lock:
            if not self.unflushed:
                return
            batch, self.unflushed = self.unflushed, []
            assert self.sink is not None
            written = await asyncio.to_thread(self.sink.flush)
            metrics.JSONL_BYTES.inc(written)
            await asyncio.gather(*(f for _, f in batch if f is not None))
            for ticket, _ in batch:
                for event in self.acks.complete(ticket):
                    event.ack()


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    return f"{'.'.join(str(p) for p in first['loc']) or 'record'}: {first['msg']}"


def register(
    app: faust.App, settings: Settings, guard: ShutdownGuard
) -> HarvesterAgent | None:
    if not settings.harvester_enabled:
        return None
    runtime = HarvesterAgent(app, settings)
    # On stop: fsync what is done and ack it; corrections still waiting for text stay unacked.
    guard.on_stop.append(runtime.flush)

    async def crash(exc: Exception) -> None:
        # Faust would restart the agent and go on with the next records, but records it had
        # handed out and never acked would hold the partition's commits back for good. Stop
        # the worker instead: after the restart everything unacked is consumed again.
        log.exception("harvester failed; stopping the worker so its records are redone")
        await app.crash(exc)

    @app.agent(runtime.corrections_topic, name="harvest")
    async def harvest(stream: Any) -> AsyncIterator[None]:
        await runtime.start()
        guard.start()
        async for event in stream.noack().events():
            try:
                await runtime.on_correction(event)
                if len(runtime.unflushed) >= 500:
                    await runtime.flush()
            except Exception as exc:
                await crash(exc)
            yield None

    @app.agent(runtime.raw, name="post_texts")
    async def post_texts(stream: Any) -> AsyncIterator[None]:
        await runtime.start()
        async for event in stream.events():
            try:
                await runtime.on_raw(event)
            except Exception as exc:
                await crash(exc)
            yield None

    async def flush_and_expire() -> None:
        await runtime.expire_waiting()
        await runtime.flush()

    app.timer(interval=settings.harvest_flush_interval_s, name="harvest_flush")(flush_and_expire)
    return runtime
