"""The calibration topic: one map per scoring configuration, keyed by it, compacted.

A map fitted on one backend's raw scores says nothing about another's, so the key is the
configuration the scores came from (:func:`source_key`) and a worker applies only the map of
its own. :class:`CalibrationFollower` reads the topic from its beginning and keeps following
it, so a map published by ``streams calibrate`` reaches every running worker within a fetch;
a tombstone of the key withdraws the map.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Final

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from streams import metrics
from streams.calibration.map import CalibrationMap
from streams.errors import BrokerError
from streams.kafka.admin import describe_topic
from streams.kafka.client import client_options, start_producer
from streams.settings import Settings

log = logging.getLogger(__name__)

#: A fetch returns at once when there is data, else after this long: a new map reaches a
#: running worker well within the 10 s promised.
FETCH_WAIT_MS: Final = 500
#: Between attempts to read a topic that is missing or a broker that does not answer.
RETRY_S: Final = 5.0


async def publish_map(settings: Settings, calibration: CalibrationMap) -> tuple[int, int]:
    """Publish ``calibration`` under its ``source``; (partition, offset) once acknowledged."""
    if not calibration.source:
        raise ValueError("a calibration map needs its source (backend/model/prompt version)")
    producer = await start_producer(settings)
    try:
        sent = await producer.send_and_wait(
            settings.topic_calibration, key=calibration.source.encode(),
            value=calibration.to_bytes(),
        )  # fmt: skip
    finally:
        await producer.stop()
    return sent.partition, sent.offset


class CalibrationFollower:
    """The latest map of one configuration on the calibration topic, for as long as it runs.

    ``on_change`` is called with the new map (None: withdrawn) each time it changes.
    """

    def __init__(
        self,
        settings: Settings,
        key: str,
        on_change: Callable[[CalibrationMap | None], None],
    ) -> None:
        self.settings, self.key, self.on_change = settings, key, on_change
        self.current: CalibrationMap | None = None
        self.loaded = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def wait_loaded(self, timeout_s: float) -> bool:
        """True once the topic was read to its end; False when it took longer."""
        try:
            await asyncio.wait_for(self.loaded.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # No calibration is no reason to stop scoring: the worker goes on with the map
                # it has (or none) and reads the topic again.
                log.warning("calibration: cannot read %s (%s); retrying in %.0f s",
                            self.settings.topic_calibration, exc, RETRY_S)  # fmt: skip
            await asyncio.sleep(RETRY_S)

    async def _follow(self) -> None:
        topic = self.settings.topic_calibration
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers, enable_auto_commit=False,
            fetch_max_wait_ms=FETCH_WAIT_MS, **client_options(self.settings),
        )  # fmt: skip
        await consumer.start()
        try:
            described = await describe_topic(
                self.settings.kafka_bootstrap_servers, topic, client_options(self.settings)
            )
            if described is None:
                raise BrokerError(f"topic {topic} does not exist: run `streams topics create`")
            tps = [TopicPartition(topic, p) for p in range(described[0])]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            while True:
                batches = await consumer.getmany(timeout_ms=1000)
                for records in batches.values():
                    for record in records:
                        self._apply(record.key, record.value)
                if not self.loaded.is_set():
                    positions = [await consumer.position(tp) for tp in ends]
                    if all(p >= e for p, e in zip(positions, ends.values(), strict=True)):
                        self.loaded.set()
        finally:
            await consumer.stop()

    def _apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None or key.decode("utf-8", "replace") != self.key:
            return
        if value is None:
            new = None
        else:
            try:
                new = CalibrationMap.model_validate_json(value)
            except ValidationError as exc:
                log.warning("calibration: a map for %s is not valid and was left out: %s",
                            self.key, exc.errors()[0]["msg"])  # fmt: skip
                return
        if new != self.current:
            self.current = new
            self.on_change(new)



async def start_follower(
    settings: Settings, key: str, apply: Callable[[CalibrationMap | None], None]
) -> CalibrationFollower:
    """Follow the calibration topic for configuration ``key``, calling ``apply`` with each new
    map; returns once the topic was read to its end or ``calibration_load_timeout_s`` passed,
    so the first records a worker scores already use the current map."""

    def changed(new: CalibrationMap | None) -> None:
        apply(new)
        metrics.CALIBRATION.clear()
        metrics.CALIBRATION.labels(new.version if new is not None else "none").set(1)
        if new is None:
            log.info("calibration: none for %s; scores go out uncalibrated", key)
        else:
            log.info("calibration: applying %s to %s (%d entries)", new.version, key,
                     len(new.entries))  # fmt: skip

    metrics.CALIBRATION.labels("none").set(1)
    follower = CalibrationFollower(settings, key, changed)
    follower.start()
    if not await follower.wait_loaded(settings.calibration_load_timeout_s):
        log.warning("calibration: %s not read within %.0f s; scoring uncalibrated until it is",
                    settings.topic_calibration, settings.calibration_load_timeout_s)  # fmt: skip
    elif follower.current is None:
        log.info("calibration: no map for %s on %s; scores go out uncalibrated", key,
                 settings.topic_calibration)  # fmt: skip
    return follower
