"""Bounded graceful shutdown.

On SIGTERM Faust stops fetching and waits until every record it handed out is acked, then
commits. That wait has no limit: an LLM call that hangs, or a correction waiting for its
post's text, would hold the worker forever. This guard notices the stop, lets the agents
flush what is done (the JSONL sink), and after ``timeout_s`` ends the process with status 0.
Nothing is lost by that: only records whose outputs were acknowledged were acked, and
everything else is consumed again after the restart.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Awaitable, Callable

import faust

log = logging.getLogger(__name__)


class ShutdownGuard:
    def __init__(self, app: faust.App, timeout_s: float) -> None:
        self.app = app
        self.timeout_s = timeout_s
        self.on_stop: list[Callable[[], Awaitable[None]]] = []
        self._task: asyncio.Future[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._watch())

    async def _watch(self) -> None:
        while not self.app.should_stop:
            await asyncio.sleep(0.2)
        log.info("stopping: finishing in-flight work for up to %.0f s", self.timeout_s)
        timer = threading.Timer(self.timeout_s, self._give_up)
        timer.daemon = True
        timer.start()
        for callback in self.on_stop:
            try:
                await callback()
            except Exception:
                log.exception("a stop callback failed; its work will be redone after restart")

    def _give_up(self) -> None:
        log.warning(
            "stopping: in-flight work not finished within %.0f s (STREAMS_SHUTDOWN_TIMEOUT_S); "
            "exiting, the unfinished records will be consumed again after the restart",
            self.timeout_s,
        )
        logging.shutdown()
        os._exit(0)
