"""Kafka for ``streams chaos``: a broker that can be bounced, a producer that survives a bounce,
and a reader of the pipeline's outputs that runs the whole time and survives bounces too."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.chaos.plan import BounceVariant
from streams.chaos.workload import ObservedRecord
from streams.errors import BrokerError, PortInUseError
from streams.kafka import launcher
from streams.models.dead_letter import DeadLetterHeaders
from streams.testing.measure import Collected

log = logging.getLogger(__name__)


_POLL_MS: Final = 200
_SEND_ATTEMPTS: Final = 6
_PORT_WAIT_S: Final = 90.0


class ChaosBroker:
    """A launcher broker on one port and one data directory, which can be stopped (SIGTERM or
    SIGKILL) and started again on both, as a crashed or restarted broker comes back."""

    def __init__(self, cache_dir: Path, version: str, data_dir: Path, heap: str = "768m") -> None:
        self.cache_dir = cache_dir
        self.version = version
        self.data_dir = data_dir
        self.heap = heap
        self.handle: launcher.BrokerHandle | None = None
        self.port = 0

    @property
    def bootstrap(self) -> str:
        if self.handle is None:
            raise BrokerError("the chaos broker is not running")
        return self.handle.bootstrap

    def start(self) -> tuple[float, float]:
        """Start it (again); return the seconds until it answered, and of those the seconds
        spent waiting for its port to be free."""
        started = time.monotonic()
        port_wait = 0.0
        while True:
            try:
                self.handle = self._start()
                break
            except PortInUseError:
                # The old process may still hold the port for a moment after it is gone.
                if port_wait > _PORT_WAIT_S:
                    raise
                time.sleep(1)
                port_wait = time.monotonic() - started
        self.port = int(self.handle.bootstrap.rsplit(":", 1)[1])
        return time.monotonic() - started, port_wait

    def _start(self) -> launcher.BrokerHandle:
        # The launcher reuses the cluster id of formatted storage, so this is a restart.
        return launcher.start_broker(
            cache_dir=self.cache_dir, version=self.version, port=self.port,
            heap=self.heap, data_dir=self.data_dir,
        )  # fmt: skip

    def stop(self, variant: BounceVariant) -> str:
        """Stop the broker process and keep its data; return how it went."""
        handle = self.handle
        if handle is None:
            return "was not running"
        if variant == "sigterm":
            return launcher.stop_broker(handle, timeout_s=60, remove_data=False)
        with contextlib.suppress(ProcessLookupError):
            os.kill(handle.pid, signal.SIGKILL)
        while launcher.pid_alive(handle.pid):
            time.sleep(0.05)
        return "killed"

    def shutdown(self) -> None:
        """Stop for good; the broker's log file stays, its data goes."""
        if self.handle is not None:
            launcher.stop_broker(self.handle, remove_data=False)
            self.handle = None
        shutil.rmtree(self.data_dir / "log", ignore_errors=True)


async def produce_records(
    bootstrap: str, topic: str, records: Sequence[tuple[bytes, bytes]]
) -> int:
    """Send every record with delivery confirmed (idempotent producer, acks=all); a record the
    broker did not confirm is sent again, up to a few times. Returns how many were re-sent."""
    pending = list(records)
    resent = 0
    for attempt in range(_SEND_ATTEMPTS):
        failed = await _send_once(bootstrap, topic, pending)
        if not failed:
            return resent
        log.warning("chaos: %d of %d records to %s not confirmed; resending", len(failed),
                    len(pending), topic)  # fmt: skip
        resent += len(failed)
        pending = failed
        await asyncio.sleep(min(2.0 * (attempt + 1), 10.0))
    raise BrokerError(
        f"{len(pending)} records to {topic} not confirmed after {_SEND_ATTEMPTS} tries"
    )


async def _send_once(
    bootstrap: str, topic: str, records: Sequence[tuple[bytes, bytes]]
) -> list[tuple[bytes, bytes]]:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5,
        request_timeout_ms=30_000,
    )  # fmt: skip
    try:
        await producer.start()
    except Exception:
        await producer.stop()
        return list(records)
    try:
        futures: list[Any] = []
        failed: list[tuple[bytes, bytes]] = []
        sent: list[tuple[bytes, bytes]] = []
        for key, value in records:
            try:
                futures.append(await producer.send(topic, key=key, value=value))
                sent.append((key, value))
            except Exception:
                failed.append((key, value))
        results = await asyncio.gather(*futures, return_exceptions=True)
        failed += [record for record, result in zip(sent, results, strict=True)
                   if isinstance(result, BaseException)]  # fmt: skip
        return failed
    finally:
        with contextlib.suppress(Exception):
            await producer.stop()


@dataclass(frozen=True)
class _Arrival:
    output: ObservedRecord
    #: time.monotonic() when the reader got it.
    at: float


class OutputReader:
    """Reads the scored and dead-letter topics from their start in a thread, for the whole run.

    It keeps its own positions (no consumer group) and starts a new consumer from them after
    any error, so a broker bounce only pauses it.
    """

    def __init__(self, bootstrap: str, scored: str, dlq: str, partitions: int) -> None:
        self.bootstrap = bootstrap
        self.scored = scored
        self.partitions = [TopicPartition(t, p) for t in (scored, dlq) for p in range(partitions)]
        self._positions: dict[TopicPartition, int] = {tp: 0 for tp in self.partitions}
        self._arrivals: list[_Arrival] = []
        self._handled: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-reader", daemon=True)
        self.restarts = 0

    def start(self) -> OutputReader:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(30)

    def outputs(self) -> list[ObservedRecord]:
        with self._lock:
            return [a.output for a in self._arrivals]

    def timed_outputs(self) -> list[tuple[ObservedRecord, float]]:
        """Every output with the time.monotonic() it was read."""
        with self._lock:
            return [(a.output, a.at) for a in self._arrivals]

    def handled_count(self, ids: Iterable[str]) -> int:
        """How many of ``ids`` have a classifier output (scored or dead letter)."""
        with self._lock:
            return sum(1 for i in ids if i in self._handled)

    def first_handled_after(self, moment: float) -> float | None:
        """time.monotonic() of the first post handled for the first time after ``moment``."""
        with self._lock:
            later = [at for at in self._handled.values() if at > moment]
        return min(later, default=None)

    def _run(self) -> None:
        asyncio.run(self._consume())

    async def _consume(self) -> None:
        while not self._stopping.is_set():
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap, enable_auto_commit=False,
                request_timeout_ms=10_000,
            )  # fmt: skip
            try:
                await consumer.start()
                consumer.assign(self.partitions)
                for tp, position in self._positions.items():
                    consumer.seek(tp, position)
                while not self._stopping.is_set():
                    batches = await consumer.getmany(timeout_ms=_POLL_MS)
                    now = time.monotonic()
                    for tp, records in batches.items():
                        for r in records:
                            self._add(r, now)
                            self._positions[tp] = r.offset + 1
            except Exception as exc:
                self.restarts += 1
                log.info("chaos reader: %r; reconnecting", exc)
                await asyncio.sleep(1)
            finally:
                with contextlib.suppress(Exception):
                    await consumer.stop()

    def _add(self, record: Any, now: float) -> None:
        stage: str | None = None
        reason: str | None = None
        if record.headers and any(name.startswith("dlq.") for name, _ in record.headers):
            try:
                headers = DeadLetterHeaders.from_headers(list(record.headers))
                stage, reason = headers.stage, headers.reason
            except ValueError:
                stage, reason = "unknown", "unreadable_headers"
        elif record.topic != self.scored:
            stage, reason = "unknown", "no_headers"
        output = ObservedRecord(
            Collected(record.topic, record.key, record.value, record.timestamp), stage, reason
        )
        key = (record.key or b"").decode(errors="replace")
        with self._lock:
            self._arrivals.append(_Arrival(output, now))
            if stage != "harvest":
                self._handled.setdefault(key, now)
