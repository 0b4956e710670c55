"""The actions and control topics, read and written with aiokafka.

:class:`ActionLog` follows both topics from their beginning, every partition, into a
:class:`Ledger` and a :class:`StopSwitch`, for as long as the worker runs: every worker sees
every action and every flip of the switch, its own and other workers', within a fetch
(``FETCH_WAIT_MS``). :func:`publish` writes one record and returns where it landed, once the
broker has acknowledged it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import ValidationError

from streams.actions.ledger import Ledger
from streams.actions.switch import StopSwitch, switch_record
from streams.errors import BrokerError
from streams.kafka.admin import describe_topic
from streams.kafka.client import client_options, start_producer
from streams.models.actions import SWITCH_KEY, ActionRecord, ActionSwitch
from streams.settings import Settings

log = logging.getLogger(__name__)

#: The broker answers a fetch at once when there is data, else after this long: a flip of the
#: switch reaches every worker well within the second the stop switch promises.
FETCH_WAIT_MS: Final = 50
#: Longest wait for the log to show a record this worker has just published.
READ_BACK_TIMEOUT_S: Final = 30.0


class ActionLog:
    """Every record of the actions and control topics, applied as it arrives."""

    def __init__(
        self,
        settings: Settings,
        topic_actions: str,
        topic_control: str,
        ledger: Ledger,
        switch: StopSwitch,
        on_switch: Callable[[ActionSwitch], None] | None = None,
    ) -> None:
        self.settings = settings
        self.topic_actions, self.topic_control = topic_actions, topic_control
        self.ledger, self.switch, self.on_switch = ledger, switch, on_switch
        self.invalid = 0
        self._consumer: AIOKafkaConsumer | None = None
        self._positions: dict[TopicPartition, int] = {}
        self._moved = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    @property
    def started(self) -> bool:
        return self._task is not None

    async def start(self) -> None:
        """Assign every partition of both topics and read them from the beginning."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            enable_auto_commit=False, fetch_max_wait_ms=FETCH_WAIT_MS,
            auto_offset_reset="earliest", **client_options(self.settings),
        )  # fmt: skip
        await consumer.start()
        try:
            partitions = [
                TopicPartition(topic, p)
                for topic in (self.topic_actions, self.topic_control)
                for p in await _partitions(self.settings, topic)
            ]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
        except BaseException:
            await consumer.stop()
            raise
        self._consumer = consumer
        self._task = asyncio.ensure_future(self._follow())

    async def caught_up(self) -> None:
        """Return once everything on both topics as of now has been applied."""
        assert self._consumer is not None
        ends = await self._consumer.end_offsets(list(self._consumer.assignment()))
        await self._wait(lambda: all(self._positions.get(tp, 0) >= e for tp, e in ends.items()))
        self.switch.loaded()

    async def read_past(self, partition: int, offset: int) -> None:
        """Return once the record at ``offset`` of the actions topic has been applied."""
        tp = TopicPartition(self.topic_actions, partition)
        try:
            await asyncio.wait_for(
                self._wait(lambda: self._positions.get(tp, 0) > offset), READ_BACK_TIMEOUT_S
            )
        except TimeoutError:
            raise BrokerError(
                f"{self.topic_actions}[{partition}] offset {offset}, just published, was not "
                f"read back within {READ_BACK_TIMEOUT_S:.0f} s"
            ) from None

    async def _wait(self, done: Callable[[], bool]) -> None:
        async with self._moved:
            await self._moved.wait_for(done)

    async def _follow(self) -> None:
        assert self._consumer is not None
        consumer = self._consumer
        while True:
            try:
                batches = await consumer.getmany(timeout_ms=1000)
                for tp, records in batches.items():
                    for record in records:
                        self._apply(tp.topic, record.value)
                for tp in consumer.assignment():
                    self._positions[tp] = await consumer.position(tp)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("actions: reading %s failed; retrying", self.topic_actions)
                await asyncio.sleep(1)
                continue
            async with self._moved:
                self._moved.notify_all()

    def _apply(self, topic: str, value: bytes | None) -> None:
        if value is None:
            return  # a tombstone: no action is ever forgotten (never twice)
        try:
            if topic == self.topic_actions:
                self.ledger.apply(ActionRecord.model_validate_json(value))
                return
            record = ActionSwitch.model_validate_json(value)
        except ValidationError as exc:
            self.invalid += 1
            log.warning("actions: a record on %s is not valid and was left out: %s", topic,
                        exc.errors()[0]["msg"])  # fmt: skip
            return
        self.switch.apply(record)
        if self.on_switch is not None:
            self.on_switch(record)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._consumer is not None:
            await self._consumer.stop()


async def _partitions(settings: Settings, topic: str) -> range:
    described = await describe_topic(
        settings.kafka_bootstrap_servers, topic, client_options(settings)
    )
    if described is None:
        raise BrokerError(f"topic {topic} does not exist: run `streams topics create`")
    return range(described[0])


async def publish(producer: AIOKafkaProducer, topic: str, key: bytes, value: bytes) -> Any:
    """Send one record; its RecordMetadata (partition, offset) once the broker has it."""
    future = await producer.send(topic, key=key, value=value)
    return await future


async def flip_switch(
    settings: Settings, state: str, origin: str, reason: str | None
) -> ActionSwitch:
    """Publish a switch record (``streams actions stop|resume``); every worker obeys it."""
    record = switch_record(state, origin, reason)
    producer = await start_producer(settings)
    try:
        await publish(producer, settings.topic_action_control, SWITCH_KEY, record.to_bytes())
    finally:
        await producer.stop()
    return record


async def read_state(settings: Settings) -> ActionLog:
    """Both topics read to their end (``streams actions status``)."""
    follower = ActionLog(
        settings, settings.topic_actions, settings.topic_action_control, Ledger(), StopSwitch()
    )
    await follower.start()
    try:
        await asyncio.wait_for(follower.caught_up(), READ_BACK_TIMEOUT_S)
    finally:
        await follower.stop()
    return follower
