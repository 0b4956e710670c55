"""Copies one topic to another, record for record (keys, values and headers untouched).

For replays and migrations between topic names, and the smallest end-to-end flow that proves a
worker reads from and writes to the broker. Enabled when both mirror topics are configured.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import faust

from streams.settings import Settings

log = logging.getLogger(__name__)


def register(app: faust.App, settings: Settings) -> None:
    if not (settings.mirror_source_topic and settings.mirror_target_topic):
        return
    source = app.topic(settings.mirror_source_topic, key_serializer="raw", value_serializer="raw")
    target = app.topic(settings.mirror_target_topic, key_serializer="raw", value_serializer="raw")

    @app.agent(source, name="mirror")
    async def mirror_records(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
        # The offset is committed only after the producer is flushed (Faust flushes before
        # every commit), so a record is copied at least once.
        async for event in stream.events():
            await target.send(key=event.key, value=event.value, headers=event.headers)
            yield None

    log.info("mirroring %s -> %s", settings.mirror_source_topic, settings.mirror_target_topic)
