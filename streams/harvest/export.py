"""Reads the training topic and writes the current example of each post: what a training job reads.

The topic is compacted and keyed by status id, but compaction is lazy: older versions and
erased posts may still be there. The export keeps the latest record per key, leaves out keys
whose latest record is a tombstone, and filters by the example's ``updated_at``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.errors import BrokerError
from streams.harvest.timefilter import in_window
from streams.kafka.admin import describe_topic
from streams.models.corrections import TrainingExample


@dataclass
class ExportSummary:
    records_read: int = 0
    examples: int = 0
    erased: int = 0
    outside_window: int = 0
    unreadable: int = 0
    seconds: float = 0.0

    def line(self, out: Path) -> str:
        return (
            f"exported {self.examples} examples to {out} ({self.records_read} records read, "
            f"{self.erased} erased, {self.outside_window} outside the window, "
            f"{self.unreadable} unreadable, {self.seconds:.1f} s)"
        )


async def latest_per_key(
    bootstrap: str,
    topic: str,
    progress: Callable[[int, int], None] | None = None,
    client_options: dict[str, Any] | None = None,
) -> tuple[dict[str, bytes | None], int]:
    """The latest value of every key on ``topic`` as of now (None for a tombstone)."""
    options = client_options or {}
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, **options
    )
    try:
        await consumer.start()
    except Exception as exc:
        await consumer.stop()
        raise BrokerError(f"cannot reach Kafka at {bootstrap}: {exc}") from exc
    try:
        described = await describe_topic(bootstrap, topic, options)
        if described is None:
            raise BrokerError(f"topic {topic} does not exist (is the harvester running?)")
        tps = [TopicPartition(topic, p) for p in range(described[0])]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        begin = await consumer.beginning_offsets(tps)
        total = sum(end[tp] - begin[tp] for tp in tps)
        latest: dict[str, bytes | None] = {}
        read = 0
        remaining = {tp for tp in tps if end[tp] > begin[tp]}
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, records in batches.items():
                for record in records:
                    if record.offset >= end[tp]:
                        continue
                    latest[(record.key or b"").decode()] = record.value
                    read += 1
                if await consumer.position(tp) >= end[tp]:
                    remaining.discard(tp)
            if progress:
                progress(read, total)
        return latest, read
    finally:
        await consumer.stop()


def progress_bar(stream: TextIO = sys.stderr) -> Callable[[int, int], None]:
    last = [0.0]

    def show(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] < 0.2 and done < total:
            return
        last[0] = now
        width = 30
        filled = width * done // total if total else width
        print(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} records",
            end="" if done < total else "\n",
            file=stream,
            flush=True,
        )

    return show


def write_export(
    latest: dict[str, bytes | None],
    out: Path,
    since: datetime | None,
    until: datetime | None,
    summary: ExportSummary,
) -> None:
    """Write the current examples inside the window, one JSON line each, sorted by status id."""
    tmp = out.with_name(out.name + ".part")
    with open(tmp, "w", encoding="utf-8") as handle:
        for status_id in sorted(latest):
            value = latest[status_id]
            if value is None:
                summary.erased += 1
                continue
            try:
                example = TrainingExample.model_validate_json(value)
            except ValueError:
                summary.unreadable += 1
                continue
            if not in_window(example.updated_at, since, until):
                summary.outside_window += 1
                continue
            handle.write(json.dumps(example.model_dump(mode="json"), ensure_ascii=False) + "\n")
            summary.examples += 1
    tmp.replace(out)  # a reader never sees a half-written export
