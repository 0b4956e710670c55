"""What the pipeline benchmarks (latency, memory, harvester) share: a broker for the run, the
run's topics, a worker process on them, producing at a steady pace, and consumer-group offsets.

The scored topic of a run can be created with ``message.timestamp.type=LogAppendTime``: the
broker then stamps each scored record when it appends it, which on a one-node cluster is when
it acknowledges it, so "produced to acknowledged" is read off the records themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import GroupCoordinatorNotAvailableError

from streams.bench.baseline import delete_topics_under, now_ms
from streams.errors import StreamsError
from streams.kafka.admin import describe_topic, ensure_topics
from streams.kafka.catalog import catalog
from streams.kafka.launcher import running_broker
from streams.settings import Settings
from streams.testing.console import say
from streams.testing.topics import RunTopics
from streams.testing.workers import WorkerProcess, worker_env


def progress(message: str) -> None:
    say("bench", message)


@contextmanager
def broker_for_run(bootstrap: str | None, settings: Settings, prefix: str) -> Iterator[str]:
    """The given broker (its run topics dropped afterwards, best effort), else one launched
    for the run."""
    with ExitStack() as stack:
        if bootstrap is None:
            progress("starting a Kafka broker for the run")
            handle = stack.enter_context(
                running_broker(cache_dir=settings.cache_dir, version=settings.kafka_version)
            )
            yield handle.bootstrap
            return
        stack.callback(_drop_topics, bootstrap, prefix)
        yield bootstrap


def _drop_topics(bootstrap: str, prefix: str) -> None:
    with contextlib.suppress(Exception):
        asyncio.run(delete_topics_under(bootstrap, prefix + "."))


def create_run_topics(
    bootstrap: str, topics: RunTopics, partitions: int, *, scored_append_time: bool = False
) -> None:
    """Every topic of the run, configured as the catalog says, ``partitions`` each."""
    settings = Settings.model_validate({"topic_partitions": partitions, **topics.fields()})
    specs = catalog(settings)
    if scored_append_time:
        specs = [
            replace(s, extra_configs={**s.extra_configs, "message.timestamp.type": "LogAppendTime"})
            if s.role == "scored"
            else s
            for s in specs
        ]
    asyncio.run(ensure_topics(bootstrap, specs))


def start_worker(
    bootstrap: str, app_id: str, log_dir: Path, topics: RunTopics, partitions: int,
    fields: Mapping[str, object], name: str = "worker",
) -> WorkerProcess:  # fmt: skip
    """A worker process on the run's topics, started and answering on its web port."""
    env = worker_env(
        bootstrap, app_id, log_dir / f"{name}-data", topics=topics, partitions=partitions,
        fields=fields,
    )  # fmt: skip
    worker = WorkerProcess(env, log_dir / f"{name}.log")
    progress(f"starting a worker, log {worker.log_path}")
    worker.start()
    try:
        worker.wait_ready(timeout_s=120)
    except BaseException:
        worker.stop()
        raise
    return worker


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a live process has used (``/proc/PID/stat``); None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return parse_cpu_seconds(text, os.sysconf("SC_CLK_TCK"))


def parse_cpu_seconds(stat: str, ticks_per_s: int) -> float:
    """utime + stime of a ``/proc/PID/stat`` line, in seconds. The command name (field 2) is
    in parentheses and may hold spaces, so fields are counted after its closing one."""
    fields = stat[stat.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state): utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / ticks_per_s


def pace_s(index: int, rate: float) -> float:
    """When record ``index`` of a steady stream at ``rate`` records/s is due, from its start."""
    if rate <= 0:
        raise ValueError(f"rate must be above 0, got {rate}")
    return index / rate


async def produce_paced(
    bootstrap: str, records: Sequence[tuple[str, bytes, bytes]], rate: float
) -> list[int]:
    """Send ``(topic, key, value)`` records at ``rate`` per second (acks=all), each stamped
    with the time it was sent; returns those stamps, ms since the epoch, in order.

    A steady pace, not bursts: each record waits for its own due time, so the load is what a
    platform sending ``rate`` posts a second would make.
    """
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=0
    )
    await producer.start()
    try:
        loop = asyncio.get_running_loop()
        start = loop.time()
        stamps: list[int] = []
        futures = []
        for index, (topic, key, value) in enumerate(records):
            delay = start + pace_s(index, rate) - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            stamp = now_ms()
            futures.append(await producer.send(topic, key=key, value=value, timestamp_ms=stamp))
            stamps.append(stamp)
        await asyncio.gather(*futures)
        return stamps
    finally:
        await producer.stop()


async def topic_partitions(bootstrap: str, topic: str) -> list[TopicPartition]:
    """The partitions of ``topic``; raises StreamsError when it does not exist."""
    described = await describe_topic(bootstrap, topic)
    if described is None:
        raise StreamsError(f"topic {topic} does not exist: the run did not create it")
    return [TopicPartition(topic, p) for p in range(described[0])]


async def wait_committed(bootstrap: str, group: str, topic: str, timeout_s: float) -> float | None:
    """Poll until the consumer group has committed every record of ``topic``; the time it did
    (epoch seconds), or None at the timeout."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await consumer.start()
    try:
        tps = await topic_partitions(bootstrap, topic)
        ends = await consumer.end_offsets(tps)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                offsets = await admin.list_consumer_group_offsets(group, partitions=tps)
            except GroupCoordinatorNotAvailableError:
                # A broker started moments ago has no offsets topic yet: ask again.
                await asyncio.sleep(0.25)
                continue
            if tps and all(offsets.get(tp) and offsets[tp].offset >= ends[tp] for tp in tps):
                return time.time()
            await asyncio.sleep(0.25)
        return None
    finally:
        await consumer.stop()
        await admin.close()
