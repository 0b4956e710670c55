"""The harvester: moderators' corrections in, one current training example per post out.

Two agents share one partition's state (the corrections and raw topics are co-partitioned by
status id, see :mod:`streams.agents.harvest_tables`): ``post_texts`` keeps a bounded table of
post texts and erases deleted posts, ``harvest`` merges each correction into the post's
corrections and publishes the example the policy derives. A correction is acked only when
its example is on the training topic and in an fsynced JSONL line, or it is dead-lettered;
acks go out in offset order. A correction without text waits, unacked, for its post's text,
and is dead-lettered after ``text_wait_s``.

Erasure: when a post is deleted (a raw tombstone or an id-only record, as ``streams harvest
erase`` also publishes), its text and corrections are removed with tombstones, the post is
remembered as erased, its training example gets a tombstone and its JSONL lines are purged.
Corrections and boosts of an erased post arriving later are acknowledged and counted, never
kept, and never dead-lettered either: a dead letter would copy their text.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import faust
from pydantic import ValidationError

from streams import metrics
from streams.agents.consuming import catalog_topics, report_jump
from streams.agents.harvest_tables import HarvestTables, TextTooLarge
from streams.agents.ordered_acks import OrderedAcks, Ticket
from streams.agents.shutdown import ShutdownGuard
from streams.harvest.jsonl_sink import DailyJsonlSink
from streams.harvest.policy import build_training_example, merge_correction
from streams.kafka.records import dead_letter
from streams.models.corrections import Correction
from streams.models.status import RawRecordError, StatusDeleted, StatusToScore, parse_raw_record
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
        self.tables = HarvestTables(
            app, self.raw.partitions or settings.topic_partitions, settings.text_cache_size
        )
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
        if self.tables.is_erased(correction.status_id):
            metrics.HARVEST_IGNORED.labels("erased_post").inc()
            self.unflushed.append((ticket, None))
            return
        try:
            merged = merge_correction(self.tables.corrections_of(correction.status_id), correction)
        except ValueError as exc:
            await self._dead_letter(event, ticket, "correction_too_large", str(exc))
            return
        self.tables.put_corrections(correction.status_id, merged)
        if not await self._publish_example(correction.status_id, merged, [ticket]):
            self.waiting.setdefault(correction.status_id, []).append(
                _Waiting(event, ticket, time.monotonic())
            )

    async def _publish_example(
        self, status_id: str, corrections: list[Correction], tickets: list[Ticket]
    ) -> bool:
        """Publish the post's current example; False when its text is not known yet."""
        text, language = self.tables.text_of(status_id)
        example = build_training_example(
            status_id, corrections, text, language, harvested_at=datetime.now(UTC)
        )
        if example is None:
            return False
        assert self.sink is not None
        future = await self.app.producer.send(
            self.training.get_topic_name(), status_id.encode(), example.to_bytes(), None, None, None
        )
        self.sink.add(example, key=status_id)
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
            await self.erase(parsed.status_id, message.partition)
            return
        if not self._keeps_text_of(parsed):
            return
        try:
            self.tables.put_text(parsed.status_id, parsed.text, parsed.language, message.partition)
        except TextTooLarge as exc:
            output = dead_letter(message, "harvest", "text_too_large", "HarvestError", str(exc))
            await (await self.app.producer.send(
                self.dlq.get_topic_name(), output.key, output.value, None, None,
                list(output.headers),
            ))  # fmt: skip
            metrics.DEAD_LETTERS.labels("harvest", "text_too_large").inc()
            return
        waiting = self.waiting.pop(parsed.status_id, None)
        if waiting:
            corrections = self.tables.corrections_of(parsed.status_id)
            await self._publish_example(parsed.status_id, corrections, [w.ticket for w in waiting])

    def _keeps_text_of(self, parsed: StatusToScore) -> bool:
        if not parsed.text.strip():
            return False
        if self.tables.is_erased(parsed.status_id):
            metrics.HARVEST_IGNORED.labels("erased_post").inc()
            return False
        # A boost carries the boosted post's text under its own key: the boosted post's own
        # record brings that text to its own key and partition, where its corrections are.
        if parsed.reblog_of is not None:
            metrics.HARVEST_IGNORED.labels("boost").inc()
            return False
        return True

    async def erase(self, status_id: str, partition: int) -> None:
        """Remove every trace of the post from state, the training topic and the JSONL files."""
        erasure = self.tables.erase(status_id, partition)
        for waiting in self.waiting.pop(status_id, []):
            metrics.HARVEST_IGNORED.labels("erased_post").inc()
            self.unflushed.append((waiting.ticket, None))
        async with self.lock:
            assert self.sink is not None
            self.sink.discard({status_id})
            purged = await asyncio.to_thread(self.sink.purge, "status_id", {status_id})
        # A tombstone even when no example is known here: one may exist from before a restore.
        # It goes last: `streams harvest erase` takes it as the receipt of a finished erasure.
        future = await self.app.producer.send(
            self.training.get_topic_name(), status_id.encode(), None, None, None, None
        )
        await future
        if erasure.had_corrections or purged:
            metrics.TRAINING_EXAMPLES.labels("erased").inc()
            log.info(
                "erased post %s: text %s, corrections %s, %d JSONL lines in %d files",
                status_id, "removed" if erasure.had_text else "none",
                "removed" if erasure.had_corrections else "none",
                sum(purged.values()), len(purged),
            )  # fmt: skip

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

    def forget_partitions(self, revoked: set[Any]) -> int:
        """Leave the corrections of revoked partitions to their new owner.

        They are unacked, so the new owner consumes them again and waits for their texts
        itself; expiring them here would dead-letter corrections that are not late.
        """
        dropped = 0
        for status_id in list(self.waiting):
            kept = [w for w in self.waiting[status_id] if w.event.message.tp not in revoked]
            dropped += len(self.waiting[status_id]) - len(kept)
            if kept:
                self.waiting[status_id] = kept
            else:
                del self.waiting[status_id]
        for tp in revoked:
            self.acks.forget(tp)
        return dropped

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

    async def on_revoked(sender: Any, revoked: Any, **_: Any) -> None:
        dropped = runtime.forget_partitions(set(revoked))
        if dropped:
            log.info("rebalance: %d waiting corrections left to the partitions' new owner", dropped)

    app.on_partitions_revoked.connect(on_revoked)  # type: ignore[arg-type]

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
