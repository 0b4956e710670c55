"""``streams harvest erase``: erase posts on request, the way a deletion on the instance does.

The command publishes a tombstone for each post to the raw topic. The workers then do the
erasure in the post's own partition, where its state lives: the classifier tombstones its
scored record, the harvester removes its text and corrections, remembers it as erased,
tombstones its training example and purges its JSONL lines. The command waits for the
harvester's training tombstone as the receipt, and counts the JSONL lines left in the local
harvest directory (0 once the harvester on this machine has purged them).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.errors import BrokerError
from streams.harvest.jsonl_sink import read_jsonl
from streams.kafka.admin import describe_topic
from streams.kafka.partitioning import partition_for_key


@dataclass
class ErasureReceipt:
    """What happened to one post's erasure request."""

    status_id: str
    raw_partition: int = -1
    raw_offset: int = -1
    #: Seconds until the harvester tombstoned the training example; None if not seen in time.
    confirmed_after_s: float | None = None
    jsonl_lines_left: dict[Path, int] = field(default_factory=dict)

    def line(self) -> str:
        where = f"deletion published to raw partition {self.raw_partition} @ {self.raw_offset}"
        if self.confirmed_after_s is None:
            state = (
                "no receipt from a harvester yet: the workers erase it when they read the raw "
                "topic (is a worker running?)"
            )
        else:
            seconds = self.confirmed_after_s
            state = f"training example tombstoned by the harvester after {seconds:.1f} s"
        left = sum(self.jsonl_lines_left.values())
        files = "; ".join(f"{p.name}: {n}" for p, n in sorted(self.jsonl_lines_left.items()))
        jsonl = f"JSONL lines left here: {left}" + (f" ({files})" if files else "")
        return f"status {self.status_id}: {where}; {state}; {jsonl}"


def lines_of(directory: Path, status_ids: set[str]) -> dict[str, dict[Path, int]]:
    """How many lines of each post the JSONL files under ``directory`` still hold."""
    found: dict[str, dict[Path, int]] = {s: {} for s in status_ids}
    if not directory.is_dir():
        return found
    for path in sorted(directory.glob("*.jsonl")):
        for record in read_jsonl(path):
            status_id = record.get("status_id")
            if status_id in found:
                found[status_id][path] = found[status_id].get(path, 0) + 1
    return found


async def _end_offsets(
    consumer: AIOKafkaConsumer, topic: str, partitions: set[int]
) -> dict[int, int]:
    tps = [TopicPartition(topic, p) for p in sorted(partitions)]
    ends = await consumer.end_offsets(tps)
    return {tp.partition: offset for tp, offset in ends.items()}


async def erase_posts(
    status_ids: list[str],
    *,
    bootstrap: str,
    raw_topic: str,
    training_topic: str,
    harvest_dir: Path,
    wait_s: float,
    client_options: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[ErasureReceipt]:
    """Publish the deletions, wait up to ``wait_s`` for the harvester's receipts, and report."""
    options = client_options or {}
    described = await describe_topic(bootstrap, training_topic, options)
    if described is None:
        raise BrokerError(f"topic {training_topic} does not exist: run `streams topics create`")
    partitions = described[0]
    receipts = {s: ErasureReceipt(s) for s in status_ids}
    wanted = {s: partition_for_key(s.encode(), partitions) for s in status_ids}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **options)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", **options)
    try:
        await consumer.start()
        await producer.start()
    except Exception as exc:
        await consumer.stop()
        await producer.stop()
        raise BrokerError(f"cannot reach Kafka at {bootstrap}: {exc}") from exc
    try:
        start = await _end_offsets(consumer, training_topic, set(wanted.values()))
        started = time.monotonic()
        for status_id in status_ids:
            sent = await producer.send_and_wait(raw_topic, None, key=status_id.encode())
            receipts[status_id].raw_partition, receipts[status_id].raw_offset = (
                sent.partition, sent.offset,
            )  # fmt: skip
            if progress:
                progress(f"status {status_id}: deletion published")
        await _await_receipts(consumer, training_topic, start, receipts, started, wait_s)
    finally:
        await producer.stop()
        await consumer.stop()
    for status_id, left in lines_of(harvest_dir, set(status_ids)).items():
        receipts[status_id].jsonl_lines_left = left
    return [receipts[s] for s in status_ids]


async def _await_receipts(
    consumer: AIOKafkaConsumer,
    topic: str,
    start: dict[int, int],
    receipts: dict[str, ErasureReceipt],
    started: float,
    wait_s: float,
) -> None:
    tps = [TopicPartition(topic, p) for p in start]
    consumer.assign(tps)
    for tp in tps:
        consumer.seek(tp, start[tp.partition])
    deadline = started + wait_s
    while any(r.confirmed_after_s is None for r in receipts.values()):
        left = deadline - time.monotonic()
        if left <= 0:
            return
        batches = await consumer.getmany(*tps, timeout_ms=int(min(left, 1.0) * 1000))
        for records in batches.values():
            for record in records:
                receipt = receipts.get((record.key or b"").decode(errors="replace"))
                if receipt and record.value is None and receipt.confirmed_after_s is None:
                    receipt.confirmed_after_s = time.monotonic() - started
        await asyncio.sleep(0)
