"""Kafka for ``streams bench classify``: topics, producing the posts, reading the results back,
and the baseline, a plain aiokafka consume -> classify -> produce -> commit loop."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from streams.errors import StreamsError
from streams.kafka.admin import ensure_topics
from streams.kafka.catalog import catalog
from streams.kafka.records import Outgoing, consumed
from streams.scoring.factory import make_classifier
from streams.scoring.openai_backend import OpenAIBackend
from streams.settings import Settings
from streams.testing.corpus import BenchPost
from streams.testing.measure import Collected
from streams.testing.topics import RunTopics

_POLL_MS = 200


def now_ms() -> int:
    return int(time.time() * 1000)


async def create_topics(bootstrap: str, topics: RunTopics, partitions: int) -> None:
    """Create the run's topics as the catalog configures them, with ``partitions`` each."""
    specs = {spec.role: spec for spec in catalog(Settings())}
    names = {"raw": topics.raw, "scored": topics.scored, "dlq": topics.dlq}
    await ensure_topics(
        bootstrap,
        [replace(specs[role], name=name, partitions=partitions) for role, name in names.items()],
    )


async def delete_topics_under(bootstrap: str, prefix: str) -> None:
    """Delete every topic whose name starts with ``prefix`` (the run's, Faust's internal ones)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = [name for name in await admin.list_topics() if name.startswith(prefix)]
        if names:
            await admin.delete_topics(names)
    finally:
        await admin.close()


async def produce_posts(bootstrap: str, topic: str, posts: Sequence[BenchPost]) -> dict[str, int]:
    """Send the posts (acks=all) and return each one's produce timestamp, ms since the epoch."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    try:
        produced: dict[str, int] = {}
        futures = []
        for post in posts:
            stamp = now_ms()
            futures.append(
                await producer.send(topic, key=post.key, value=post.value, timestamp_ms=stamp)
            )
            produced[post.status_id] = stamp
        await asyncio.gather(*futures)
        return produced
    finally:
        await producer.stop()


async def collect(
    bootstrap: str,
    topics: RunTopics,
    expected: Collection[str],
    *,
    timeout_s: float,
    grace_s: float,
    alive: Callable[[], bool] = lambda: True,
) -> list[Collected]:
    """Read the scored and dead-letter topics from the start until every expected key has come
    out, then ``grace_s`` longer so duplicates show; stop early at the timeout or when
    ``alive()`` turns false."""
    consumer = AIOKafkaConsumer(
        topics.scored, topics.dlq, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
        metadata_max_age_ms=1000,
    )  # fmt: skip
    await consumer.start()
    records: list[Collected] = []
    missing = {key.encode() for key in expected}
    complete = False
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline:
            running = alive()
            for batch in (await consumer.getmany(timeout_ms=_POLL_MS)).values():
                for r in batch:
                    records.append(Collected(r.topic, r.key, r.value, r.timestamp))
                    missing.discard(r.key)
            if not missing and not complete:
                complete = True
                deadline = min(deadline, loop.time() + grace_s)
            if not running:
                break
    finally:
        await consumer.stop()
    return records


async def baseline_loop(
    bootstrap: str, topics: RunTopics, settings: Settings, group: str, posts: int,
    timeout_s: float,
) -> None:  # fmt: skip
    """The plain loop: fetch up to a batch, classify it (the same backend and Classifier as the
    agent), publish every output with acks=all and wait for the broker, then commit."""
    backend = OpenAIBackend.from_settings(settings)
    classifier = make_classifier(settings, backend)
    consumer = AIOKafkaConsumer(
        topics.raw, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
        auto_offset_reset="earliest",
    )  # fmt: skip
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        await consumer.start()
        await producer.start()
        deadline = time.monotonic() + timeout_s
        done = 0
        while done < posts:
            if time.monotonic() > deadline:
                raise StreamsError(f"baseline: {done} of {posts} posts done in {timeout_s:.0f} s")
            fetched = await consumer.getmany(timeout_ms=_POLL_MS, max_records=settings.batch_size)
            batch = [consumed(r, r.timestamp) for records in fetched.values() for r in records]
            if not batch:
                continue
            report = await classifier.process(batch)
            await _publish(producer, topics, report.outputs)
            await consumer.commit()
            done += len(batch)
    finally:
        with contextlib.suppress(Exception):
            await producer.stop()
        with contextlib.suppress(Exception):
            await consumer.stop()
        await backend.close()


async def _publish(producer: Any, topics: RunTopics, outputs: Sequence[Outgoing]) -> None:
    """Send every output, then wait until the broker has them all (raises if it refused one)."""
    futures = []
    for out in outputs:
        topic = topics.scored if out.destination == "scored" else topics.dlq
        headers = list(out.headers) or None
        futures.append(await producer.send(topic, key=out.key, value=out.value, headers=headers))
    await asyncio.gather(*futures)
