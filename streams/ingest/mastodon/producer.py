"""The Kafka producer the follower publishes with: acks from all in-sync replicas, idempotent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from streams.settings import Settings


class RawProducer(Protocol):
    """What the follower needs of a producer (aiokafka's ``AIOKafkaProducer`` has it)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send_and_wait(
        self, topic: str, value: bytes | None = None, key: bytes | None = None
    ) -> Any: ...


def kafka_producer_factory(settings: Settings) -> Callable[[], RawProducer]:
    """A factory of producers connected as ``settings`` say."""
    from aiokafka import AIOKafkaProducer

    # The one use of the client options in the connector (the module moves on main).
    from streams.kafka.client import client_options

    def make() -> RawProducer:
        producer: RawProducer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            acks="all",
            enable_idempotence=True,
            **client_options(settings),
        )
        return producer

    return make
