"""MastodonServerThread: a MastodonServer on its own event loop in a daemon thread.

For synchronous tests::

    with MastodonServerThread() as running:
        token = running.server.add_token("read write:reports")
        running.publish_status(running.server.new_status(text="hi"))

The data hooks (``server.state``, ``server.limiter``, ``server.faults``,
``server.add_token``) are thread-safe and can be called directly; the async
hooks are wrapped here and run on the server's loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from streams.testing.mastodon.config import ServerConfig
from streams.testing.mastodon.entities import JSONDict
from streams.testing.mastodon.server import MastodonServer

T = TypeVar("T")


class MastodonServerThread:
    """Runs a MastodonServer in a background thread; usable as a context manager."""

    def __init__(self, config: ServerConfig | None = None, *, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self.loop = asyncio.new_event_loop()
        self.server = MastodonServer(config)
        self._thread = threading.Thread(target=self._run, name="mastodon-server", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the server's loop and return its result."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(self.timeout)

    def start(self) -> MastodonServerThread:
        self._thread.start()
        self.run(self.server.start())
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        try:
            self.run(self.server.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(self.timeout)
            self.loop.close()

    def __enter__(self) -> MastodonServerThread:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def streaming_url(self) -> str:
        return self.server.streaming_url

    # -- synchronous wrappers of the async hooks ------------------------------
    def publish_status(self, status: JSONDict) -> int:
        return self.run(self.server.publish_status(status))

    def publish_edit(self, status: JSONDict | str, **changes: Any) -> JSONDict:
        return self.run(self.server.publish_edit(status, **changes))

    def publish_delete(self, status_id: str) -> int:
        return self.run(self.server.publish_delete(status_id))

    def disconnect_streams(self, *, abrupt: bool = False, code: int = 1001) -> int:
        return self.run(self.server.disconnect_streams(abrupt=abrupt, code=code))

    def pause_streaming(self, seconds: float | None = None, *, status: int = 503) -> None:
        self.run(self.server.pause_streaming(seconds, status=status))

    def resume_streaming(self) -> None:
        self.run(self.server.resume_streaming())

    def update_report(self, report_id: str, **changes: Any) -> JSONDict:
        return self.run(self.server.update_report(report_id, **changes))

    def webhooks_idle(self) -> None:
        self.run(self.server.webhooks_idle())
