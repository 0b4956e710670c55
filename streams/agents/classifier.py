"""The classifier agent: raw statuses in, one scored record (or dead letter) per status out.

Records are read with Faust's automatic acks off. They are gathered into micro-batches (by
size and time) and several batches are scored at once, so they finish out of order. A scored
record is released only once every record before it in its partition is scored too (see
:mod:`streams.agents.ordered_acks`). Released records are published in runs of at most
``batch_size``, one run at a time: a run is acked once the broker has acknowledged what it
produced, and committed, before the next goes out. A crash therefore never skips a record, and
repeats at most the one run whose commit it interrupted; what finished ahead of a slow batch,
or waits for the next run, is unpublished (redone after a crash, never duplicated).
``max_posts_ahead`` bounds the records read and not yet committed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import faust

from streams import metrics
from streams.agents.calibration import CalibrationFollower, follow_calibration, stop_following
from streams.agents.consuming import catalog_topics, report_jump
from streams.agents.ordered_acks import OrderedAcks, Ticket
from streams.agents.rebalance import read_again
from streams.agents.shutdown import ShutdownGuard
from streams.categories import CATEGORIES
from streams.errors import FatalLLMError
from streams.kafka.records import Consumed, Outgoing, consumed
from streams.scoring.backend import ScoringBackend
from streams.scoring.batch import BatchReport, Classifier
from streams.scoring.breaker import Breaker
from streams.scoring.factory import make_backend, make_classifier
from streams.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class _Pending:
    event: faust.EventT[Any]
    record: Consumed
    ticket: Ticket | None = None
    #: Set when its batch is done; published when every earlier record of its partition is.
    output: Outgoing | None = None


class ClassifierAgent:
    """Batching, concurrency and ordered acks around a :class:`Classifier`."""

    def __init__(self, app: faust.App, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        topics = catalog_topics(app, settings)
        self.raw, self.scored, self.dlq = topics["raw"], topics["scored"], topics["dlq"]
        self.acks: OrderedAcks[_Pending] = OrderedAcks()
        self.backend: ScoringBackend | None = None
        self.classifier: Classifier | None = None
        self.batch: list[_Pending] = []
        self.batch_started = 0.0
        self.slots = asyncio.Semaphore(settings.max_batches_in_flight)
        #: Released records in release order (each partition's in offset order), waiting for
        #: a run; and the run being published and committed. One run of at most batch_size at
        #: a time: what a crash can publish twice is that run, not all runs published while a
        #: commit was slow (hundreds of ms on a loaded machine), nor all a slow batch held back.
        self.released: list[_Pending] = []
        self.publishing: list[_Pending] = []
        #: Set when records were committed, so reading may go on.
        self.room = asyncio.Event()
        #: Set when records were released, for the next run.
        self.commit_due = asyncio.Event()
        self.tasks: set[asyncio.Task[None]] = set()
        #: Offset of the last record read per partition, for the lag gauge.
        self.last_read: dict[Any, int] = {}
        self.breaker: Breaker | None = None
        #: Batches being scored, by their task: what a rebalance may cancel.
        self.scoring: dict[asyncio.Task[Any], list[_Pending]] = {}
        #: Revoked partitions: the first offset not released (None: none tracked), for
        #: the partitions that come back.
        self.resume_at: dict[Any, int | None] = {}
        #: Counts rebalances: a record read before one is not tracked after it.
        self.generation = 0
        self.stopping = False
        self.calibration: CalibrationFollower | None = None

    async def start(self) -> None:
        self.backend = make_backend(self.settings)
        self.classifier = make_classifier(self.settings, self.backend)
        self.breaker = self.classifier.breaker
        self.calibration = await follow_calibration(self.settings, self.backend, self.classifier)
        await self.scored.maybe_declare()
        await self.dlq.maybe_declare()
        self.app.add_future(self._commit_when_due())
        log.info(
            "classifier: backend %s, model %s, batches of up to %d posts or %.1f s, %d in flight",
            self.backend.name, self.backend.model, self.settings.batch_size,
            self.settings.batch_timeout_s, self.settings.max_batches_in_flight,
        )  # fmt: skip

    async def submit(self, event: faust.EventT[Any]) -> None:
        message = event.message
        # Faust's timestamps are seconds; the record's own are milliseconds.
        record = consumed(message, int(message.timestamp * 1000) if message.timestamp else None)
        report_jump(log, self.acks, message, "posts between were not scored")
        generation = self.generation
        while self.uncommitted() >= self.settings.posts_ahead_limit:
            self.room.clear()
            await self.room.wait()
        if generation != self.generation:
            return  # read before a rebalance: it is delivered again, to whoever owns it now
        pending = _Pending(event, record)
        # Tracked and in the batch in one step: no exception can leave a ticket outside a
        # batch, where nothing would complete it and its partition's acks would stall.
        pending.ticket = self.acks.track(message.tp, message.offset, pending)
        if not self.batch:
            self.batch_started = time.monotonic()
        self.batch.append(pending)
        metrics.POSTS_CONSUMED.inc()
        self.last_read[message.tp] = message.offset
        self.update_lag(message.tp)
        if len(self.batch) >= self.settings.batch_size:
            await self.dispatch()

    def uncommitted(self) -> int:
        """Records read and not yet committed: being scored, released, or being published."""
        return self.acks.in_flight() + len(self.released) + len(self.publishing)

    def update_lag(self, tp: Any) -> None:
        try:
            if tp not in self.app.consumer.assignment():
                # Revoked by a rebalance: the worker that owns it now reports its lag.
                self.last_read.pop(tp, None)
                return
            highwater = self.app.consumer.highwater(tp)
        except Exception as exc:  # a gauge is not worth a record: the next read updates it
            log.debug("classifier: lag of %s not updated (%s)", tp, exc)
            return
        if highwater is not None and tp in self.last_read:
            metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(
                max(0, highwater - self.last_read[tp] - 1)
            )

    async def flush_due(self) -> None:
        """Send a partial batch that has waited long enough."""
        if self.stopping:
            return
        if self.batch and time.monotonic() - self.batch_started >= self.settings.batch_timeout_s:
            await self.dispatch()

    async def dispatch(self) -> None:
        # Waiting is the backpressure: the agent stops reading while the LLM is unavailable
        # or all slots are busy, and Faust's buffers stop fetching. The batch is taken only
        # after the wait, so a rebalance meanwhile can still drop its revoked records.
        assert self.breaker is not None
        await self.breaker.wait_available()
        await self.slots.acquire()
        batch, self.batch = self.batch, []
        if not batch:  # the other caller (agent or flush timer) took it meanwhile
            self.slots.release()
            return
        metrics.BATCH_SIZE.observe(len(batch))
        metrics.BATCHES_IN_FLIGHT.inc()
        task = asyncio.ensure_future(self._run(batch))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run(self, batch: list[_Pending]) -> None:
        task = asyncio.current_task()
        try:
            assert self.classifier is not None and task is not None
            # While scoring, a rebalance that revokes every record of the batch cancels it.
            self.scoring[task] = batch
            try:
                report = await self.classifier.process_isolating_errors([p.record for p in batch])
            finally:
                self.scoring.pop(task, None)
            released: list[_Pending] = []
            for pending, output in zip(batch, report.outputs, strict=True):
                pending.output = output
                assert pending.ticket is not None
                released += self.acks.complete(pending.ticket)
            self._observe(report)
            # No await between complete() and here: records queue in the order released.
            if released:
                self.released += released
                self.commit_due.set()
        except FatalLLMError as exc:
            log.critical("classifier stopped: %s", exc)
            await self.app.crash(exc)
        except Exception as exc:
            # Nothing of this batch is released: after the restart it is consumed again.
            log.exception("classifier batch failed; stopping so the batch is redone")
            await self.app.crash(exc)
        finally:
            metrics.BATCHES_IN_FLIGHT.dec()
            self.slots.release()

    async def on_partitions_revoked(self, revoked: set[Any]) -> None:
        """A rebalance takes ``revoked`` away (Faust's eager protocol: every partition, the
        kept ones come back at the assignment). Faust does not wait for the agents
        (``stream_wait_empty`` is off): the batches in flight get ``rebalance_drain_s`` to
        finish, publish and commit, none at all while the LLM is unavailable; then the rest
        is forgotten: not published, not counted against the read-ahead, not scored further
        when all of a batch is revoked, and redone by the partition's next owner."""
        self.generation += 1
        raw = self.raw.get_topic_name()
        mine = {tp for tp in revoked if tp.topic == raw}
        if not mine:
            return
        await self.drain(self.settings.rebalance_drain_s)
        try:
            await self.app.consumer.commit()
        except Exception as exc:
            log.debug("classifier: commit before the rebalance failed (%s)", exc)
        before = self.acks.in_flight()
        for tp in mine:
            self.resume_at[tp] = self.acks.resume_offset(tp)
            self.acks.forget(tp)
            if self.last_read.pop(tp, None) is not None:
                metrics.CONSUMER_LAG.remove(tp.topic, str(tp.partition))
        self.batch = [p for p in self.batch if p.event.message.tp not in mine]
        cancelled = 0
        for task, batch in list(self.scoring.items()):
            if all(p.event.message.tp in mine for p in batch):
                task.cancel()
                cancelled += 1
        self.room.set()
        dropped = before - self.acks.in_flight()
        if dropped:
            log.info(
                "rebalance: %d posts of %d revoked partitions dropped unpublished (%d batches "
                "cancelled); their next owner scores them", dropped, len(mine), cancelled,
            )  # fmt: skip

    async def on_rebalance_complete(self) -> None:
        """Seek the revoked partitions that came back to where this worker stopped."""
        resume_at, self.resume_at = self.resume_at, {}
        await read_again(self.app.consumer, resume_at)

    async def drain(self, timeout_s: float | None) -> None:
        """Let the batches in flight finish for up to ``timeout_s`` (None: no limit), but not
        while the LLM is unavailable: those would wait for it; and let what they released be
        published and committed, which needs no LLM."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout_s is None else loop.time() + timeout_s
        while True:
            scoring = self.tasks if self.breaker is None or self.breaker.available else set()
            if not scoring and not self.released and not self.publishing:
                return
            left = 0.2 if deadline is None else min(0.2, deadline - loop.time())
            if left <= 0:
                return
            if scoring:
                await asyncio.wait(set(scoring), timeout=left)
            else:
                await asyncio.sleep(min(left, 0.02))

    async def on_shutdown(self) -> None:
        """Before Faust's last commit: finish what is in flight (the shutdown guard bounds it)."""
        self.stopping = True
        await self.drain(None)
        await stop_following(self.calibration)

    async def _commit_when_due(self) -> None:
        """Publish the oldest released records as one run of at most batch_size, ack it once
        the broker has it, commit it, then take the next run: what was published but not
        committed is what a crash publishes twice, so it is never more than one run."""
        while True:
            await self.commit_due.wait()
            self.commit_due.clear()
            if not self.released:
                continue
            run = self.settings.batch_size
            self.publishing, self.released = self.released[:run], self.released[run:]
            try:
                outputs = [p.output for p in self.publishing if p.output is not None]
                await (await self._send(outputs))
            except Exception as exc:
                # Nothing of this run is acked: after the restart it is consumed again.
                log.exception("classifier: publishing failed; stopping so the posts are redone")
                await self.app.crash(exc)
                return
            for pending in self.publishing:
                pending.event.ack()
            await self._commit_acked()
            self.publishing = []
            self.room.set()
            if self.released:
                self.commit_due.set()

    async def _commit_acked(self) -> None:
        """Commit what was acked so far. Faust's commit, asked while another commit is under
        way, only waits for that one, which may have begun before these acks; a commit that
        begins after them covers them, so it asks again unless the first one committed."""
        consumer = self.app.consumer
        try:
            if not await consumer.commit():
                await consumer.commit()
        except Exception as exc:  # a rebalance in progress: the commit timer retries
            log.debug("classifier: commit failed (%s); left to the timer", exc)

    def _observe(self, report: BatchReport) -> None:
        assert self.backend is not None
        run = report.run
        metrics.LLM_TOKENS.labels("input").inc(run.usage.input_tokens)
        metrics.LLM_TOKENS.labels("cached_input").inc(run.usage.cached_input_tokens)
        metrics.LLM_TOKENS.labels("output").inc(run.usage.output_tokens)
        metrics.LLM_COST.inc(run.cost_usd)
        metrics.LLM_RETRIES.inc(run.retried_posts)
        metrics.REPEAT_CACHE_HITS.inc(report.cache_hits)
        for output in report.outputs:
            if output.outcome == "dead_letter":
                metrics.DEAD_LETTERS.labels(output.stage, output.reason).inc()
            elif output.outcome == "deleted":
                metrics.POSTS_DELETED.inc()
            else:
                backend = "none" if output.outcome == "empty" else self.backend.name
                metrics.POSTS_SCORED.labels(backend, output.outcome).inc()
                for category in output.flagged_categories:
                    metrics.FLAGGED.labels(category).inc()
                for category, score in zip(CATEGORIES, output.scores, strict=False):
                    metrics.CATEGORY_SCORE.labels(category).observe(score)
                if output.latency_s is not None:
                    metrics.END_TO_END_LATENCY.observe(output.latency_s)

    async def _send(self, outputs: list[Outgoing]) -> asyncio.Future[list[Any]]:
        """Hand records to the producer; the returned future is done when the broker has
        acknowledged them all, and fails if it refused any."""
        producer = self.app.producer
        futures = []
        for output in outputs:
            topic = self.scored if output.destination == "scored" else self.dlq
            futures.append(
                await producer.send(
                    topic.get_topic_name(),
                    output.key,
                    output.value,
                    None,
                    None,
                    list(output.headers) or None,
                )
            )
        return asyncio.gather(*futures)


def register(app: faust.App, settings: Settings, guard: ShutdownGuard) -> ClassifierAgent | None:
    if not settings.classifier_enabled:
        return None
    runtime = ClassifierAgent(app, settings)

    @app.agent(runtime.raw, name="classifier")
    async def classify(stream: Any) -> AsyncIterator[None]:
        await runtime.start()
        guard.start()
        async for event in stream.noack().events():
            try:
                await runtime.submit(event)
            except Exception as exc:
                # Faust would restart the agent and read on past a record it may have tracked
                # and never finished, stalling its partition: stop instead, and redo it.
                log.exception("classifier: reading a record failed; stopping the worker")
                await app.crash(exc)
                return
            yield None

    # Faust's signals call (sender, *args, signal=...); the revoked partitions are the arg.
    async def forget_revoked(sender: Any, revoked: set[Any], **kwargs: Any) -> None:
        await runtime.on_partitions_revoked(set(revoked))

    async def seek_returned(sender: Any, **kwargs: Any) -> None:
        await runtime.on_rebalance_complete()

    async def finish_in_flight(sender: Any, **kwargs: Any) -> None:
        await runtime.on_shutdown()

    # mode's handler type is a union mypy cannot match a plain coroutine function against.
    app.on_partitions_revoked.connect(forget_revoked)  # type: ignore[arg-type]
    app.on_rebalance_complete.connect(seek_returned)  # type: ignore[arg-type]
    app.on_before_shutdown.connect(finish_in_flight)  # type: ignore[arg-type]

    async def flush_partial_batches() -> None:
        await runtime.flush_due()

    async def refresh_lag() -> None:
        # Between records too, so a stalled worker's lag keeps growing on the dashboard.
        for tp in list(runtime.last_read):
            runtime.update_lag(tp)

    app.timer(interval=5.0, name="classifier_lag")(refresh_lag)

    app.timer(interval=min(0.1, settings.batch_timeout_s / 2), name="classifier_flush")(
        flush_partial_batches
    )

    return runtime
