"""Publishing operator-supplied records with delivery confirmed, for ``streams produce``."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer

from streams.ingest.files import GoodRecord
from streams.kafka.client import check_connection, client_options
from streams.settings import Settings

PROGRESS_EVERY_S = 2.0


async def publish(
    settings: Settings, topic: str, records: Sequence[GoodRecord], progress: bool
) -> int:
    """Send the records with delivery confirmed (idempotent producer, acks=all)."""
    await check_connection(settings)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        **client_options(settings),
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_request_size=16 * 1024 * 1024,
    )
    await producer.start()
    try:
        pending = []
        last = time.monotonic()
        for index, record in enumerate(records, start=1):
            pending.append(await producer.send(topic, key=record.key, value=record.value))
            if progress and time.monotonic() - last > PROGRESS_EVERY_S:
                last = time.monotonic()
                print(f"  ... {index}/{len(records)} queued", file=sys.stderr)
        for future in pending:
            await future  # raises if the broker did not take the record
        return len(pending)
    finally:
        await producer.stop()


