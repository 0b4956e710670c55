"""Resuming flow that is already flowing keeps the records queued for the current assignment,
and the fetcher never takes records of partitions it did not ask for."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import faust
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from mode.utils.queues import FlowControlEvent, FlowControlQueue

from streams.agents.flow_control import FetchOnlyAsked, KeepQueuedWhileFlowing, install


def queued_after(flow: FlowControlEvent, steps: list[str]) -> int:
    """Put one record before each step; how many are still queued at the end."""
    queue: FlowControlQueue[int] = FlowControlQueue(flow_control=flow, clear_on_resume=True)
    for n, step in enumerate(steps):
        queue.put_nowait(n)
        getattr(flow, step)()
    return queue.qsize()


def test_the_second_of_two_resumes_keeps_what_was_queued_between_them() -> None:
    # The worker's start-up after a changelog restore: resume, fetch, resume again.
    assert queued_after(KeepQueuedWhileFlowing(), ["resume", "resume"]) == 1


def test_fausts_own_flow_control_drops_it() -> None:
    # The behaviour this module exists for; if mode ever changes it, this says so.
    assert queued_after(FlowControlEvent(), ["resume", "resume"]) == 0


def test_a_resume_after_a_suspension_still_empties_the_queues() -> None:
    # Records buffered for partitions a rebalance took away must not be delivered.
    assert queued_after(KeepQueuedWhileFlowing(), ["resume", "suspend", "resume"]) == 0


def test_starts_suspended_like_fausts() -> None:
    assert not KeepQueuedWhileFlowing().is_active()


def test_installed_flow_control_manages_the_apps_stream_queues() -> None:
    async def check() -> None:
        app = faust.App("flow-control-test", env={}, autodiscover=False)
        install(app)
        queue = app.topic("raw").queue
        assert queue._flow_control is app.flow_control
        assert isinstance(app.flow_control, KeepQueuedWhileFlowing)
        app.flow_control.resume()
        queue.put_nowait("record")
        app.flow_control.resume()
        assert queue.qsize() == 1

    asyncio.run(check())


@pytest.mark.broker
def test_aiokafka_hands_over_every_partition_when_asked_for_none(
    kafka_bootstrap: str, unique_name: Callable[[str], str]
) -> None:
    # The hazard FetchOnlyAsked exists for; if aiokafka ever changes it, this says so.
    topic = unique_name("fetch")
    paused, active = TopicPartition(topic, 0), TopicPartition(topic, 1)

    async def check() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, 2, 1)])
        finally:
            await admin.close()
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        await producer.start()
        try:
            for tp in (paused, active):
                await asyncio.gather(*[
                    await producer.send(topic, b"x", partition=tp.partition) for _ in range(5)
                ])  # fmt: skip
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            bootstrap_servers=kafka_bootstrap, enable_auto_commit=False,
            auto_offset_reset="earliest",
        )  # fmt: skip
        await consumer.start()
        try:
            consumer.assign([paused, active])
            fetcher = consumer._fetcher
            asked: dict[Any, list[Any]] = {}
            while not asked:
                asked = await fetcher.fetched_records({active}, timeout=5)
            assert set(asked) == {active}
            everything: dict[Any, list[Any]] = {}
            while paused not in everything:
                everything = await fetcher.fetched_records(set(), timeout=5)
            assert len(everything[paused]) == 5
            assert await consumer.position(paused) == 5  # past records nobody delivered
        finally:
            await consumer.stop()

    asyncio.run(check())


class AskedFor:
    """Stands in for Faust's consumer thread (which would ask aiokafka): records what it was
    asked for, and meanwhile empties the caller's set, as a changelog restore does."""

    def __init__(self) -> None:
        self.asked: list[set[Any]] = []
        self.live: set[Any] = set()

    async def getmany(self, active_partitions: set[Any], timeout: float) -> dict[Any, list[Any]]:
        self.asked.append(active_partitions)
        self.live.clear()
        await asyncio.sleep(0)
        return {tp: [] for tp in active_partitions}


def installed_fetcher(app_id: str) -> FetchOnlyAsked:
    """The consumer of an app given this module's flow control and fetching."""
    app = faust.App(app_id, env={}, autodiscover=False)
    install(app)
    consumer = app.consumer
    assert isinstance(consumer, FetchOnlyAsked)
    return consumer


def test_the_fetcher_asks_for_what_is_active_when_it_asks_and_never_for_nothing() -> None:
    async def check() -> None:
        consumer = installed_fetcher("fetch-test")
        thread = AskedFor()
        consumer._thread = thread
        thread.live = {"raw-0", "raw-1"}
        got = await consumer._getmany(thread.live, timeout=1)
        assert thread.asked == [{"raw-0", "raw-1"}] and thread.asked[0] is not thread.live
        assert set(got) == {"raw-0", "raw-1"}
        assert await consumer._getmany(set(), timeout=1) == {}
        assert len(thread.asked) == 1  # an empty set would have meant every partition

    asyncio.run(check())


class StoppedMeanwhile:
    """Stands in for Faust's consumer thread: the flow stops while its fetch is out, as a
    rebalance stops it, and it keeps the seeks it is asked for."""

    def __init__(self, consumer: FetchOnlyAsked, assigned: set[Any]) -> None:
        self.consumer = consumer
        self.assigned = assigned
        self.seeks: list[tuple[Any, int]] = []

    async def getmany(self, active_partitions: set[Any], timeout: float) -> dict[Any, list[Any]]:
        self.consumer.stop_flow()
        await asyncio.sleep(0)
        return {tp: [_Record(7), _Record(8)] for tp in active_partitions}

    def assignment(self) -> set[Any]:
        return self.assigned

    def seek(self, partition: Any, offset: int) -> None:
        self.seeks.append((partition, offset))


class _Record:
    def __init__(self, offset: int) -> None:
        self.offset = offset


def test_records_fetched_while_the_flow_is_stopped_are_put_back_not_dropped() -> None:
    async def check() -> None:
        consumer = installed_fetcher("fetch-stop-test")
        raw0, raw1 = TopicPartition("raw", 0), TopicPartition("raw", 1)
        thread = StoppedMeanwhile(consumer, assigned={raw0})  # raw-1 went to another worker
        consumer._thread = thread
        consumer.resume_flow()
        got = await consumer._getmany({raw0, raw1}, timeout=1)
        assert got == {}  # Faust would drop them: nothing is handed over
        assert thread.seeks == [(raw0, 7)]  # read again from the first, once flow resumes

    asyncio.run(check())
