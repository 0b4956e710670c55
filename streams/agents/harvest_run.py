"""Runs the harvester inside the worker: its consumer group, rebalances, the batch loop.

The consumer uses the range assignor, which gives one member the same partition numbers of
both input topics: a post's text and its corrections, and the state kept from them, stay
together. The harvester's state of a partition is restored from its changelogs when the
partition is gained and dropped when it is lost. A rebalance waits for the batch in progress;
what that batch completed is committed before the partitions go.

One batch's outputs are sent, fsynced and committed while the next one is read and worked
on; a batch is closed only once the one before it has been committed, so commits stay in
order and at most two batches are uncommitted.

A worker of an earlier version committed the harvester's offsets under the app's own group:
a partition the harvester group has never committed starts from there, not from the
beginning, so an upgrade does not harvest again what was harvested.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import faust
import mode
from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import CommitFailedError, IllegalStateError

from streams.agents.harvest_io import (
    changelog_specs,
    ensure_harvest_topics,
    harvest_producer,
    harvester_group,
)
from streams.agents.harvester import HarvesterAgent
from streams.agents.shutdown import ShutdownGuard
from streams.kafka.catalog import DLQ_MAX_MESSAGE_BYTES, catalog
from streams.kafka.client import client_options
from streams.settings import Settings

log = logging.getLogger(__name__)


#: Records read per batch: a batch's outputs go out together and its offsets are committed once.
BATCH_RECORDS = 5000
#: Records handled between two chances for the event loop to answer the broker.
YIELD_EVERY = 200


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, runner: HarvestRunner) -> None:
        self.runner = runner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.runner.on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self.runner.on_assigned(set(assigned))


class HarvestRunner:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.producer: AIOKafkaProducer | None = None
        self.agent = HarvesterAgent(settings)
        self.consumer: AIOKafkaConsumer | None = None
        self.lock = asyncio.Lock()
        self.owned: set[int] = set()
        self.stopping = False
        self._stopped = asyncio.Event()
        #: The previous batch's :meth:`HarvesterAgent.complete`, while it runs.
        self.completing: asyncio.Task[int] | None = None

    async def start(self) -> None:
        settings = self.settings
        specs = [s for s in catalog(settings) if s.role in ("training", "dlq")]
        specs += changelog_specs(settings, self.agent.partitions)
        await ensure_harvest_topics(settings, specs)
        self.producer = producer = harvest_producer(settings, DLQ_MAX_MESSAGE_BYTES)
        await producer.start()
        self.agent.open(producer)
        for topic in (settings.topic_training, settings.topic_dlq):
            self.agent.output_partitions[topic] = len(await producer.partitions_for(topic))
        session_ms = round(settings.broker_session_timeout_s * 1000)
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=harvester_group(settings.app_id), enable_auto_commit=False,
            auto_offset_reset="earliest", max_poll_records=BATCH_RECORDS,
            session_timeout_ms=session_ms, heartbeat_interval_ms=min(3000, session_ms // 3),
            partition_assignment_strategy=(RangePartitionAssignor,),
            client_id=f"{settings.app_id}-harvester", **client_options(settings),
        )  # fmt: skip
        await self.consumer.start()
        self.consumer.subscribe(
            [settings.topic_raw, settings.topic_corrections], listener=_Rebalance(self)
        )

    async def run(self) -> None:
        assert self.consumer is not None
        agent, consumer = self.agent, self.consumer
        last_flush = time.monotonic()
        try:
            while not self.stopping:
                fetched = await consumer.getmany(timeout_ms=200, max_records=BATCH_RECORDS)
                async with self.lock:
                    raw = [rs for tp, rs in fetched.items() if tp.topic == self.settings.topic_raw]
                    for records in raw:
                        await _each(records, agent.on_raw)
                    for tp, records in fetched.items():
                        if tp.topic != self.settings.topic_raw:
                            await _each(records, agent.on_correction)
                    agent.expire_waiting()
                    due = time.monotonic() - last_flush >= self.settings.harvest_flush_interval_s
                    if fetched or agent.done or agent.outbox.records or due:
                        await self._completed()
                        # The batch's outputs go out while the next batch is read and worked
                        # on: waiting for the broker's acks, the fsync and the commit left the
                        # worker's core idle for a third of the time.
                        self.completing = asyncio.create_task(
                            agent.complete(agent.stage(), consumer)
                        )
                        last_flush = time.monotonic()
            await self._completed()
        except BaseException:
            if self.completing is not None:
                self.completing.cancel()  # the worker stops; what it did not commit is redone
            raise
        finally:
            self._stopped.set()

    async def _completed(self) -> None:
        """Wait for the batch in flight; its failure is raised here."""
        completing, self.completing = self.completing, None
        if completing is not None:
            await completing

    async def on_revoked(self, revoked: set[TopicPartition]) -> None:
        async with self.lock:
            if self.consumer is not None and not self.stopping and revoked:
                try:
                    await self._completed()
                    await self.agent.flush(self.consumer)
                except (CommitFailedError, IllegalStateError) as exc:
                    # The group moved on: the next owner reads those records again.
                    log.warning("rebalance: the last batch's commit failed (%s)", exc)
            dropped = self.agent.forget(revoked)
        if dropped:
            log.info("rebalance: %d waiting corrections left to the partitions' owner", dropped)

    async def on_assigned(self, assigned: set[TopicPartition]) -> None:
        partitions = {tp.partition for tp in assigned}
        async with self.lock:
            lost, gained = self.owned - partitions, partitions - self.owned
            self.agent.store.forget_partitions(lost)
            await self.agent.restore(gained)
            self.owned = partitions
        await self._start_where_the_app_group_left(assigned)
        log.info("harvester: partitions %s (restored %s)", sorted(partitions), sorted(gained))

    async def _start_where_the_app_group_left(self, assigned: set[TopicPartition]) -> None:
        assert self.consumer is not None
        fresh = [tp for tp in assigned if await self.consumer.committed(tp) is None]
        if not fresh:
            return
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            **client_options(self.settings),
        )
        try:
            await admin.start()
            group = self.settings.app_id
            earlier = await admin.list_consumer_group_offsets(group, partitions=fresh)
        except Exception as exc:  # an unreachable group only costs a second harvest
            log.warning("harvester: cannot read the app group's offsets (%s); from the start", exc)
            return
        finally:
            await admin.close()
        for tp, meta in earlier.items():
            if meta is not None and meta.offset >= 0:
                self.consumer.seek(tp, meta.offset)

    async def stop(self) -> None:
        """Finish the batch in progress (its offsets committed), then leave the group."""
        self.stopping = True
        if self.consumer is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), self.settings.shutdown_timeout_s)
            await self.consumer.stop()
        if self.producer is not None:
            await self.producer.stop()


async def _each(
    records: list[ConsumerRecord[bytes, bytes]],
    handle: Callable[[ConsumerRecord[bytes, bytes]], None],
) -> None:
    # Yielding now and then lets the previous batch's acks, fsync and commit be answered
    # while this one is worked on; without it they waited for the whole batch, each step.
    for start in range(0, len(records), YIELD_EVERY):
        for record in records[start : start + YIELD_EVERY]:
            handle(record)
        await asyncio.sleep(0)


def register(app: faust.App, settings: Settings, guard: ShutdownGuard) -> HarvesterAgent | None:
    """Start the harvester with the worker (unless ``STREAMS_HARVESTER_ENABLED`` is off)."""
    if not settings.harvester_enabled:
        return None
    runner = HarvestRunner(settings)

    class Harvester(mode.Service):  # type: ignore[misc]
        async def on_start(self) -> None:
            await runner.start()
            guard.start()
            self.add_future(self._run())

        async def _run(self) -> None:
            try:
                await runner.run()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Stop the worker: after the restart everything not committed is read again.
                log.exception("harvester failed; stopping the worker so its records are redone")
                await app.crash(exc)

        async def on_stop(self) -> None:
            await runner.stop()

    app.service(Harvester)
    return runner.agent
