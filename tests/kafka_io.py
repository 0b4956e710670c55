"""Producing test posts and reading topics back, with plain aiokafka."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

TOXIC = [
    "Die kutmarokkanen moeten weg",
    "linkse ratten en volksverraders allemaal",
    "the globalists and rothschilds run it all",
    "what an idiot, you absolute moron",
    "ik ga je vinden en je in elkaar slaan",
]
BENIGN = [
    "De gemeenteraad stemt vanavond over de begroting.",
    "Great debate tonight on housing policy.",
    "Ik ben het oneens met dit kabinet, maar respect voor het werk.",
    "New bike lanes on the high street, finally!",
]


def status(i: int, text: str, *, lang: str = "nl", **extra: object) -> dict[str, object]:
    return {
        "id": str(i),
        "created_at": "2026-11-01T12:00:00.000Z",
        "content": f"<p>{text} (#{i})</p>",
        "language": lang,
        "account": {"id": "7", "acct": "someone"},
        **extra,
    }


def corpus(n: int, start: int = 1_000_000) -> list[dict[str, object]]:
    """``n`` distinct posts, one in three toxic, so a post zeroed by a failure is visible."""
    texts = TOXIC + BENIGN
    return [status(start + i, texts[i % len(texts)]) for i in range(n)]


async def produce(
    bootstrap: str, topic: str, records: Iterable[tuple[bytes | None, bytes | None]]
) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        futures = [await producer.send(topic, key=k, value=v) for k, v in records]
        await asyncio.gather(*futures)
        return len(futures)
    finally:
        await producer.stop()


def produce_statuses(bootstrap: str, topic: str, statuses: list[dict[str, object]]) -> int:
    records = [(str(s["id"]).encode(), json.dumps(s).encode()) for s in statuses]
    return asyncio.run(produce(bootstrap, topic, records))


@dataclass(frozen=True)
class Read:
    topic: str
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    partition: int
    offset: int


async def read_until(
    bootstrap: str, topics: list[str], done: Callable[[list[Read]], bool], timeout_s: float
) -> list[Read]:
    """Everything on ``topics`` from the start, until ``done(records)`` or the timeout."""
    consumer = AIOKafkaConsumer(
        *topics, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
        metadata_max_age_ms=1000,
    )  # fmt: skip
    await consumer.start()
    records: list[Read] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline and not done(records):
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records += [
                    Read(r.topic, r.key, r.value, tuple(r.headers), r.partition, r.offset)
                    for r in batch
                ]
    finally:
        await consumer.stop()
    return records


def create_topics(env: dict[str, str]) -> None:
    """`streams topics create` with a worker's environment, as an operator would run it first."""
    created = subprocess.run(
        [sys.executable, "-m", "streams.cli", "topics", "create"],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert created.returncode == 0, created.stdout + created.stderr
