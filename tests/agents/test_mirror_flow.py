"""The first end-to-end flow: a Faust worker copies 1,000 records between real topics."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from streams.testing.workers import WorkerProcess

pytestmark = pytest.mark.broker

N = 1000


async def _produce(bootstrap: str, topic: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        sends = [
            await producer.send(topic, key=str(i).encode(), value=f"record {i}".encode())
            for i in range(N)
        ]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


async def _consume(bootstrap: str, topic: str, timeout_s: float) -> dict[bytes, bytes]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    seen: dict[bytes, bytes] = {}
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while len(seen) < N and loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    assert record.key is not None and record.value is not None
                    seen[record.key] = record.value
    finally:
        await consumer.stop()
    return seen


def test_worker_mirrors_1000_records(
    kafka_bootstrap: str,
    worker_env: dict[str, str],
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> None:
    source, target = unique_name("mirror-in"), unique_name("mirror-out")
    env = {
        **worker_env,
        "STREAMS_MIRROR_SOURCE_TOPIC": source,
        "STREAMS_MIRROR_TARGET_TOPIC": target,
    }
    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        worker.wait_ready()
        asyncio.run(_produce(kafka_bootstrap, source))
        seen = asyncio.run(_consume(kafka_bootstrap, target, timeout_s=90))
        assert worker.proc is not None and worker.proc.poll() is None, worker.log_tail()

    assert len(seen) == N, f"{N - len(seen)} records missing; worker log: {tmp_path / 'worker.log'}"
    assert seen == {str(i).encode(): f"record {i}".encode() for i in range(N)}
