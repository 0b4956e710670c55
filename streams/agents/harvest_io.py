"""The harvester's Kafka plumbing: its changelog topics, restoring state from them, and an
outbox that sends a batch's output records as whole record batches.

Sending record batches (``AIOKafkaProducer.send_batch``) instead of one ``send`` per record
takes the producer's per-record Python work (partitioning, accumulating, one future per
record) out of the harvester's inner loop: at thousands of corrections a second that work was
most of the time spent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.harvest.store import TABLES, ChangelogWrite, HarvestStore
from streams.kafka.admin import ensure_topics
from streams.kafka.catalog import TABLE_CHANGELOG_MAX_MESSAGE_BYTES, TopicSpec
from streams.kafka.client import client_options
from streams.kafka.partitioning import partition_for_key
from streams.settings import Settings

log = logging.getLogger(__name__)

#: Largest record batch the outbox builds; a record above it goes out on its own.
BATCH_BYTES = 1024 * 1024


def harvester_group(app_id: str) -> str:
    """The harvester's consumer group, of the worker app ``app_id``."""
    return f"{app_id}-harvester"


def changelog_topic(settings: Settings, table: str) -> str:
    """The changelog of one table, named as the harvester has always named it."""
    return f"{settings.app_id}-{table}-changelog"


def changelog_specs(settings: Settings, partitions: int) -> list[TopicSpec]:
    return [
        TopicSpec(
            role=f"changelog:{table}",
            name=changelog_topic(settings, table),
            key="status id (JSON string)",
            value="table record (JSON), null removes",
            partitions=partitions,
            cleanup_policy="compact",
            retention_ms=-1,
            description=f"The harvester's {table} table.",
            extra_configs={"max.message.bytes": str(TABLE_CHANGELOG_MAX_MESSAGE_BYTES)},
        )
        for table in TABLES
    ]


async def ensure_harvest_topics(settings: Settings, specs: list[TopicSpec]) -> None:
    await ensure_topics(
        settings.kafka_bootstrap_servers, specs, settings.topic_replication_factor,
        client_options(settings),
    )  # fmt: skip


async def restore(settings: Settings, store: HarvestStore, partitions: set[int]) -> int:
    """Read the changelogs' ``partitions`` to their end into ``store``; records read."""
    if not partitions:
        return 0
    started = time.monotonic()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False,
        max_partition_fetch_bytes=4 * TABLE_CHANGELOG_MAX_MESSAGE_BYTES,
        **client_options(settings),
    )  # fmt: skip
    await consumer.start()
    read = 0
    try:
        tables = {changelog_topic(settings, t): t for t in TABLES}
        tps = [TopicPartition(topic, p) for topic in tables for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        remaining = {tp for tp in tps if ends[tp] > 0}
        while remaining:
            fetched = await consumer.getmany(*remaining, timeout_ms=500, max_records=5000)
            for tp, records in fetched.items():
                for record in records:
                    if record.key is not None:
                        store.restore(tables[tp.topic], tp.partition, record.key, record.value)
                    read += 1
                if records and records[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)  # the last records were compaction's to drop
    finally:
        await consumer.stop()
    store.restored()
    log.info(
        "harvester: restored %d changelog records of partitions %s in %.1f s",
        read, sorted(partitions), time.monotonic() - started,
    )  # fmt: skip
    return read


class Outbox:
    """Output records of one batch, grouped into record batches per topic partition."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer
        self._open: dict[tuple[str, int], Any] = {}
        self._full: list[tuple[str, int, Any]] = []
        self._single: list[tuple[str, int, bytes | None, bytes | None, Sequence[Any]]] = []
        self.records = 0

    def add(
        self, topic: str, partition: int, key: bytes | None, value: bytes | None,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> None:  # fmt: skip
        self.records += 1
        slot = (topic, partition)
        batch = self._open.get(slot)
        if batch is None:
            batch = self._open[slot] = self.producer.create_batch()
        if batch.append(key=key, value=value, timestamp=None, headers=list(headers)) is not None:
            return
        if batch.record_count() == 0:
            self._single.append((topic, partition, key, value, headers))
            return
        self._full.append((topic, partition, batch))
        batch = self._open[slot] = self.producer.create_batch()
        if batch.append(key=key, value=value, timestamp=None, headers=list(headers)) is None:
            self._single.append((topic, partition, key, value, headers))

    def add_keyed(
        self, topic: str, partitions: int, key: bytes, value: bytes | None,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> None:  # fmt: skip
        """Add a record to the partition the default partitioner gives its key."""
        self.add(topic, partition_for_key(key, partitions), key, value, headers)

    def add_changelogs(self, settings: Settings, writes: list[ChangelogWrite]) -> None:
        for write in writes:
            topic = changelog_topic(settings, write.table)
            self.add(topic, write.partition, write.key, write.value)

    async def send(self) -> None:
        """Send everything added and wait until the broker has acknowledged all of it."""
        batches = [*self._full, *((t, p, b) for (t, p), b in self._open.items())]
        self._full, self._open = [], {}
        futures = []
        for topic, partition, batch in batches:
            if batch.record_count():
                batch.close()
                futures.append(await self.producer.send_batch(batch, topic, partition=partition))
        for topic, partition, key, value, headers in self._single:
            futures.append(
                await self.producer.send(
                    topic, key=key, value=value, partition=partition, headers=list(headers)
                )
            )
        self._single = []
        self.records = 0
        if futures:
            await asyncio.gather(*futures)


def harvest_producer(settings: Settings, max_request_bytes: int) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers, acks="all",
        enable_idempotence=True, max_batch_size=BATCH_BYTES,
        max_request_size=max_request_bytes, linger_ms=0, **client_options(settings),
    )  # fmt: skip
