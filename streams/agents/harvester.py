"""The harvester: moderators' corrections in, one current training example per post out.

It reads the raw and corrections topics (co-partitioned by status id) with its own aiokafka
consumer in group ``<app id>-harvester``, a batch of records at a time: the raw records keep a
bounded table of post texts and erase deleted posts, each correction is merged into its post's
corrections and the example the policy derives is published. A batch's outputs (training
examples, dead letters, the tables' changelog records) go out as whole record batches, its
JSONL lines are fsynced, and only then are its input offsets committed. A correction without
text waits for its post's text, holding its partition's commit back, and is dead-lettered
after ``text_wait_s``.

Faust's per-record machinery (one event, one ack, one changelog send and one produce per
table change) made the harvester an order of magnitude slower than a plain consume-produce
loop; reading and writing batches directly keeps it close to one.

Erasure: when a post is deleted (a raw tombstone or an id-only record, as ``streams harvest
erase`` also publishes), its text and corrections are removed with tombstones, the post is
remembered as erased, its JSONL lines are purged and its training example gets a tombstone,
last, as the receipt of the erasure. Corrections and boosts of an erased post arriving later
are acknowledged and counted, never kept, and never dead-lettered either: a dead letter would
copy their text.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from pydantic import ValidationError

from streams import metrics
from streams.agents.harvest_io import Outbox, restore
from streams.agents.ordered_acks import OrderedAcks, Ticket
from streams.harvest.example_json import training_example_json
from streams.harvest.jsonl_sink import DailyJsonlSink
from streams.harvest.store import HarvestStore, TextTooLarge
from streams.kafka.partitioning import partition_for_key
from streams.kafka.records import Outgoing, dead_letter
from streams.models.corrections import Correction
from streams.models.status import RawRecordError, StatusDeleted, StatusToScore, parse_raw_record
from streams.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class _Waiting:
    record: ConsumerRecord[bytes, bytes]
    ticket: Ticket
    since: float


@dataclass(frozen=True)
class Staged:
    """A batch's outputs and the offsets they complete, from :meth:`HarvesterAgent.stage`."""

    outbox: Outbox
    #: Posts erased in the batch, each with whether it had corrections.
    erasing: dict[str, bool]
    offsets: dict[TopicPartition, int]


@dataclass
class FeedbackCounts:
    """Counts of the corrections this worker has read, for ``GET /api/feedback/summary``."""

    by_feedback_type: Counter[str] = field(default_factory=Counter)
    by_source: Counter[str] = field(default_factory=Counter)
    by_category: Counter[str] = field(default_factory=Counter)

    def add(self, correction: Correction) -> None:
        self.by_feedback_type[correction.feedback_type] += 1
        self.by_source[correction.source] += 1
        self.by_category.update(correction.expected_categories)  # str enums: counted by name

    def as_json(self) -> dict[str, Any]:
        return {
            "total": sum(self.by_source.values()),
            "by_feedback_type": dict(self.by_feedback_type),
            "by_source": dict(self.by_source),
            "by_category": dict(self.by_category),
        }


class HarvesterAgent:
    """What the harvester does with each record; :mod:`streams.agents.harvest_run` feeds it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.partitions = settings.topic_partitions
        #: Partitions of each output topic, as the broker has them (see harvest_run).
        self.output_partitions: dict[str, int] = {}
        self.corrections_topic_name = settings.topic_corrections
        self.store = HarvestStore(self.partitions, settings.text_cache_size)
        #: Set by :meth:`open`, with the producer it sends through.
        self.outbox: Outbox = None  # type: ignore[assignment]
        self.acks: OrderedAcks[int] = OrderedAcks()
        self.waiting: dict[str, list[_Waiting]] = {}
        #: Posts whose example is due at the next flush, with the corrections it completes.
        self.changed: dict[str, list[_Waiting]] = {}
        #: Tickets whose outputs are in the outbox and the sink, until the next flush.
        self.done: list[Ticket] = []
        #: Raw partitions read since the last commit, with the next offset to read.
        self.raw_read: dict[TopicPartition, int] = {}
        #: Posts erased since the last flush: their lines leave the JSONL files before it.
        self.erasing: dict[str, bool] = {}
        self.sink: DailyJsonlSink | None = None
        self.counts = FeedbackCounts()
        self._counters: dict[tuple[str, str], Any] = {}
        self._published = metrics.TRAINING_EXAMPLES.labels("published")

    def _corrections_counter(self, source: str, feedback_type: str) -> Any:
        # Looking a labelled child up costs more than the rest of counting a correction.
        counter = self._counters.get((source, feedback_type))
        if counter is None:
            counter = self._counters[(source, feedback_type)] = metrics.CORRECTIONS.labels(
                source, feedback_type
            )
        return counter

    def open(self, producer: AIOKafkaProducer) -> None:
        self.outbox = Outbox(producer)
        if self.sink is None:
            self.sink = DailyJsonlSink(self.settings.harvest_directory)
            if self.sink.repaired_bytes:
                log.warning(
                    "harvest JSONL: cut %d bytes of a torn last line left by a crash",
                    self.sink.repaired_bytes,
                )

    def _of_training(self) -> int:
        return self.output_partitions.get(self.settings.topic_training, self.partitions)

    # --- corrections -------------------------------------------------------------------
    def on_correction(self, record: ConsumerRecord[bytes, bytes]) -> None:
        tp = TopicPartition(record.topic, record.partition)
        hole = self.acks.hole_before(tp, record.offset)
        if hole is not None:
            log.warning(
                "%s[%d] jumped from offset %d to %d (transaction markers take offsets)",
                record.topic, record.partition, hole, record.offset,
            )  # fmt: skip
        ticket = self.acks.track(tp, record.offset, record.offset)
        try:
            correction = Correction.model_validate_json(record.value or b"")
        except ValidationError as exc:
            self._dead_letter(record, ticket, "invalid_correction", _first_error(exc))
            return
        self._corrections_counter(correction.source, correction.feedback_type).inc()
        self.counts.add(correction)
        if self.store.is_erased(correction.status_id):
            metrics.HARVEST_IGNORED.labels("erased_post").inc()
            self.done.append(ticket)
            return
        try:
            self.store.merge(correction, record.partition)
        except ValueError as exc:
            self._dead_letter(record, ticket, "correction_too_large", str(exc))
            return
        self.changed.setdefault(correction.status_id, []).append(
            _Waiting(record, ticket, time.monotonic())
        )

    def publish_changed(self) -> None:
        """Publish one example per post whose corrections or text changed in this batch.

        A report storm on one post makes one example per batch, not one per report, each a
        superset of the last; the compacted topic would keep only the latest anyway.
        """
        changed, self.changed = self.changed, {}
        now = datetime.now(UTC)
        for status_id, entries in changed.items():
            if not self._publish_example(status_id, [e.ticket for e in entries], now):
                self.waiting.setdefault(status_id, []).extend(entries)

    def _publish_example(self, status_id: str, tickets: list[Ticket], now: datetime) -> bool:
        """Publish the post's current example; False when its text is not known yet."""
        text, language = self.store.text_of(status_id)
        value = training_example_json(
            status_id, self.store.corrections_of(status_id), self.store.provenance_of(status_id),
            text, language, harvested_at=now,
        )  # fmt: skip
        if value is None:
            return False
        assert self.sink is not None
        key = status_id.encode()
        self.outbox.add_keyed(self.settings.topic_training, self._of_training(), key, value)
        self.sink.add_line(value, key=status_id)
        self._published.inc()
        self.done.extend(tickets)
        return True

    # --- post texts and deletions -------------------------------------------------------
    def on_raw(self, record: ConsumerRecord[bytes, bytes]) -> None:
        tp = TopicPartition(record.topic, record.partition)
        self.raw_read[tp] = record.offset + 1
        try:
            parsed = parse_raw_record(record.key, record.value)
        except RawRecordError:
            return  # the classifier dead-letters bad raw records; nothing to keep here
        if isinstance(parsed, StatusDeleted):
            self.erase(parsed.status_id, record.partition)
            return
        if not self._keeps_text_of(parsed):
            return
        try:
            self.store.put_text(parsed.status_id, parsed.text, parsed.language, record.partition)
        except TextTooLarge as exc:
            self._send_dead_letter(
                record, dead_letter(record, "harvest", "text_too_large", "HarvestError", str(exc))
            )
            metrics.DEAD_LETTERS.labels("harvest", "text_too_large").inc()
            return
        waiting = self.waiting.pop(parsed.status_id, None)
        if waiting:
            self.changed.setdefault(parsed.status_id, []).extend(waiting)

    def _keeps_text_of(self, parsed: StatusToScore) -> bool:
        if not parsed.text.strip():
            return False
        if self.store.is_erased(parsed.status_id):
            metrics.HARVEST_IGNORED.labels("erased_post").inc()
            return False
        # A boost carries the boosted post's text under its own key: the boosted post's own
        # record brings that text to its own key and partition, where its corrections are.
        if parsed.reblog_of is not None:
            metrics.HARVEST_IGNORED.labels("boost").inc()
            return False
        return True

    def erase(self, status_id: str, partition: int) -> None:
        """Remove every trace of the post from state; the files and the training topic follow
        at the next flush."""
        erasure = self.store.erase(status_id, partition)
        for waiting in [*self.waiting.pop(status_id, []), *self.changed.pop(status_id, [])]:
            metrics.HARVEST_IGNORED.labels("erased_post").inc()
            self.done.append(waiting.ticket)
        self.erasing[status_id] = self.erasing.get(status_id, False) or erasure.had_corrections
        if erasure.had_text or erasure.had_corrections:
            log.info(
                "erasing post %s: text %s, corrections %s", status_id,
                "removed" if erasure.had_text else "none",
                "removed" if erasure.had_corrections else "none",
            )  # fmt: skip

    # --- dead letters and expiry ----------------------------------------------------------
    def _dead_letter(
        self, record: ConsumerRecord[bytes, bytes], ticket: Ticket, reason: str, message: str
    ) -> None:
        self._send_dead_letter(
            record, dead_letter(record, "harvest", reason, "HarvestError", message)
        )
        metrics.DEAD_LETTERS.labels("harvest", reason).inc()
        self.done.append(ticket)

    def _send_dead_letter(self, record: ConsumerRecord[bytes, bytes], output: Outgoing) -> None:
        partitions = self.output_partitions.get(self.settings.topic_dlq, self.partitions)
        partition = (
            partition_for_key(output.key, partitions)
            if output.key is not None
            else record.partition % partitions
        )
        topic = self.settings.topic_dlq
        self.outbox.add(topic, partition, output.key, output.value, output.headers)

    def expire_waiting(self) -> None:
        deadline = time.monotonic() - self.settings.text_wait_s
        for status_id in [s for s, w in self.waiting.items() if w[0].since <= deadline]:
            for waiting in self.waiting.pop(status_id):
                self._dead_letter(
                    waiting.record, waiting.ticket, "text_wait_expired",
                    f"no text for status {status_id} within {self.settings.text_wait_s:.0f} s",
                )  # fmt: skip

    # --- flushing -------------------------------------------------------------------------
    def stage(self) -> Staged:
        """Close the batch: its examples, changelog records and tombstones in one outbox, and
        the offsets they complete. Nothing is sent yet; :meth:`complete` does that."""
        self.publish_changed()
        erasing, self.erasing = self.erasing, {}
        if erasing:
            assert self.sink is not None
            self.sink.discard(set(erasing))
        self.outbox.add_changelogs(self.settings, self.store.take_writes())
        for status_id in erasing:
            # A tombstone even when no example is known here: one may exist from before.
            key = status_id.encode()
            self.outbox.add_keyed(self.settings.topic_training, self._of_training(), key, None)
        outbox, self.outbox = self.outbox, Outbox(self.outbox.producer)
        return Staged(outbox, erasing, self._commit_offsets())

    async def complete(self, staged: Staged, consumer: AIOKafkaConsumer) -> int:
        """Purge erased posts' lines, send the outputs, fsync the JSONL lines, then commit
        the offsets whose records are all done; the records sent.

        Another batch may be processed meanwhile (its lines may be written with these), but
        the next :meth:`stage` must wait for this to return: a batch's erasures purge the
        files only after every earlier line is in them."""
        assert self.sink is not None
        purged: dict[Any, int] = {}
        if staged.erasing:
            purged = await asyncio.to_thread(self.sink.purge, "status_id", set(staged.erasing))
        sent = staged.outbox.records
        # Neither waits for the other: both only have to be done before the commit.
        _, written = await asyncio.gather(staged.outbox.send(), asyncio.to_thread(self.sink.flush))
        metrics.JSONL_BYTES.inc(written)
        for had_corrections in staged.erasing.values():
            if had_corrections or purged:
                metrics.TRAINING_EXAMPLES.labels("erased").inc()
        if staged.erasing and purged:
            log.info(
                "erased %d posts: %d JSONL lines purged",
                len(staged.erasing), sum(purged.values()),
            )  # fmt: skip
        if staged.offsets:
            await consumer.commit(staged.offsets)
        return sent

    async def flush(self, consumer: AIOKafkaConsumer) -> int:
        """:meth:`stage` and :meth:`complete` the batch in progress; the records sent."""
        return await self.complete(self.stage(), consumer)

    def _commit_offsets(self) -> dict[TopicPartition, int]:
        done, self.done = self.done, []
        touched: set[TopicPartition] = set()
        for ticket in done:
            if self.acks.complete(ticket):
                assert isinstance(ticket.partition, TopicPartition)
                touched.add(ticket.partition)
        offsets = {tp: self.acks.resume_offset(tp) for tp in touched}
        commit = {tp: o for tp, o in offsets.items() if o is not None}
        commit.update(self.raw_read)
        self.raw_read = {}
        return commit

    def forget(self, revoked: set[TopicPartition]) -> int:
        """Drop the waiting corrections of revoked partitions: they are redelivered from the
        last commit, to this worker or another."""
        dropped = 0
        for status_id in list(self.waiting):
            waiting = self.waiting[status_id]
            kept = [w for w in waiting if _tp(w.record) not in revoked]
            dropped += len(self.waiting[status_id]) - len(kept)
            if kept:
                self.waiting[status_id] = kept
            else:
                del self.waiting[status_id]
        for tp in revoked:
            self.acks.forget(tp)
        return dropped

    async def restore(self, partitions: set[int]) -> None:
        await restore(self.settings, self.store, partitions)


def _tp(record: ConsumerRecord[bytes, bytes]) -> TopicPartition:
    return TopicPartition(record.topic, record.partition)


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    return f"{'.'.join(str(p) for p in first['loc']) or 'record'}: {first['msg']}"
