"""What the classifier and harvester agents both do with the topics they read and write:
declare them from the catalog, and report records Faust skipped."""

from __future__ import annotations

import logging
from typing import Any

import faust

from streams.agents.ordered_acks import OrderedAcks
from streams.kafka.catalog import catalog
from streams.settings import Settings


def catalog_topics(app: faust.App, settings: Settings) -> dict[str, faust.TopicT]:
    """Raw-bytes Faust topics by role, declared with the catalog's partitions and configuration."""
    return {
        spec.role: app.topic(
            spec.name,
            key_serializer="raw",
            value_serializer="raw",
            partitions=spec.partitions,
            config=spec.configs(),
        )
        for spec in catalog(settings)
    }


def report_jump(
    log: logging.Logger, acks: OrderedAcks[Any], message: faust.types.Message, lost: str
) -> None:
    """Warn when ``message`` skips offsets its partition never delivered.

    Producers' transactions leave such jumps (their commit markers take offsets). Without
    transactions the records between were fetched and never delivered, which
    streams.agents.flow_control exists to prevent; stopping would not get them back (every start
    skips the same offsets), so it is reported. ``lost`` names what the skipped records
    would have been (``"posts ... not scored"``).
    """
    hole = acks.hole_before(message.tp, message.offset)
    if hole is not None:
        log.warning(
            "%s[%d] jumped from offset %d to %d: no records were delivered between "
            "(transaction markers take offsets; without transactional producers, the %s)",
            message.topic, message.partition, hole, message.offset, lost,
        )  # fmt: skip
