"""MastodonServer: the fake instance as an in-process aiohttp server on 127.0.0.1.

Start it with ``async with MastodonServer() as server:`` (or ``await
server.start()`` / ``await server.stop()``), then drive it through its
``state`` (accounts, tokens, statuses), ``limiter`` (rate limits), ``faults``
(injected failures) and the async hooks below.  MastodonServerThread
(thread.py) runs one in a background thread for synchronous tests.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web

from streams.testing.mastodon import channels
from streams.testing.mastodon.config import ServerConfig
from streams.testing.mastodon.entities import JSONDict, edited, make_status
from streams.testing.mastodon.faults import FaultPlan, render_fault
from streams.testing.mastodon.ids import utc_now
from streams.testing.mastodon.ratelimit import Clock, RateLimiter
from streams.testing.mastodon.rest import RestApi
from streams.testing.mastodon.state import InstanceState, Token, is_local
from streams.testing.mastodon.streaming import StreamingHub
from streams.testing.mastodon.webhook_payloads import admin_report, status_object
from streams.testing.mastodon.webhooks import (
    Attempt,
    Delivery,
    Webhook,
    build_delivery,
    deliver_with_retries,
    mastodon_user_agent,
)


class MastodonServer:
    """A Mastodon-protocol server for tests, bound to 127.0.0.1 on a free port."""

    def __init__(self, config: ServerConfig | None = None, *, clock: Clock = time.time) -> None:
        self.config = config or ServerConfig()
        self.state = InstanceState(self.config.domain)
        self.limiter = RateLimiter(clock)
        self.faults = FaultPlan()
        self.hub = StreamingHub(
            self.state, public_needs_scope=self.config.public_streams_need_scope,
            heartbeat=self.config.streaming_heartbeat)
        self.rest = RestApi(
            self.state, self.config, self.limiter, self.faults, base_url=lambda: self.base_url,
            streaming_url=lambda: self.streaming_url, on_event=self._emit)
        self.webhooks: list[Webhook] = []
        self.deliveries: list[tuple[Delivery, list[Attempt]]] = []
        self.webhook_time_scale = 0.0
        self._tasks: set[asyncio.Task[None]] = set()
        self._runners: list[web.AppRunner] = []
        self._stream_runner: web.AppRunner | None = None
        self._stream_site: web.TCPSite | None = None
        self.port = 0
        self.streaming_port = 0

    # -- lifecycle ----------------------------------------------------------
    def _rest_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/v2/instance", self.rest.instance)
        app.router.add_get("/api/v1/timelines/public", self.rest.public_timeline)
        app.router.add_post("/api/v1/reports", self.rest.reports)
        handler = self.rest.streaming_redirect if self.config.separate_streaming_port \
            else self._streaming_entry
        app.router.add_get("/api/v1/streaming", handler)
        app.router.add_get("/api/v1/streaming/{tail:.*}", handler)
        return app

    def _streaming_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._streaming_entry)
        return app

    async def _streaming_entry(self, request: web.Request) -> web.StreamResponse:
        """Upgrades go to the hub (any path, as streaming/index.js); plain GETs do not."""
        if request.headers.get("Upgrade", "").lower() == "websocket":
            fault = self.faults.take("streaming")
            if fault is not None:
                return render_fault(fault)
            return await self.hub.handle(request)
        if request.path == "/api/v1/streaming/health":
            return web.Response(text="OK", content_type="text/plain")
        on_rest_host = not self.config.separate_streaming_port
        if on_rest_host and request.path.rstrip("/") == "/api/v1/streaming":
            return await self.rest.streaming_redirect(request)
        return web.json_response({"error": "Unknown channel requested"}, status=400)

    async def _serve(self, app: web.Application, port: int) -> tuple[web.AppRunner, web.TCPSite]:
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.config.host, port)
        await site.start()
        return runner, site

    @staticmethod
    def _bound_port(runner: web.AppRunner) -> int:
        return int(runner.addresses[0][1])

    async def start(self) -> None:
        """Bind the REST (and, if configured, streaming) listeners."""
        runner, _ = await self._serve(self._rest_app(), self.config.port)
        self._runners.append(runner)
        self.port = self._bound_port(runner)
        self.streaming_port = self.port
        if self.config.separate_streaming_port:
            self._stream_runner, self._stream_site = await self._serve(self._streaming_app(), 0)
            self.streaming_port = self._bound_port(self._stream_runner)

    async def stop(self) -> None:
        """Close sockets, cancel pending webhook deliveries, release the ports."""
        await self.hub.disconnect_all(code=1001)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._stream_runner is not None:
            await self._stream_runner.cleanup()
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()

    async def __aenter__(self) -> MastodonServer:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    @property
    def streaming_url(self) -> str:
        """``configuration.urls.streaming``: where clients open /api/v1/streaming."""
        return f"ws://{self.config.host}:{self.streaming_port}"

    # -- data hooks ---------------------------------------------------------
    def add_token(self, scopes: str = "read write", **options: Any) -> Token:
        """Issue an access token (see InstanceState.add_token)."""
        return self.state.add_token(scopes, **options)

    def new_status(self, *, username: str = "alice", domain: str | None = "remote.example",
                   **fields: Any) -> JSONDict:
        """A realistic Status by ``username@domain`` (local when ``domain`` is None); not stored."""
        account = next((a for a in self.state.accounts.values()
                        if a["username"] == username and a["url"].split("/")[2]
                        == (domain or self.config.domain)), None)
        account = account or self.state.create_account(username, domain)
        return make_status(self.state.ids, account, local_domain=self.config.domain, **fields)

    def add_status(self, status: JSONDict) -> JSONDict:
        """Store a status for the REST timeline without streaming it (backfill)."""
        return self.state.add_status(status)

    # -- streaming hooks ----------------------------------------------------
    async def publish_status(self, status: JSONDict) -> int:
        """Store ``status`` and stream an ``update`` where Mastodon would; frames sent."""
        self.state.add_status(status)
        if is_local(status["account"]):
            await self._emit("status.created", status_object(status))
        return await self._fan_out("update", status)

    async def publish_edit(self, status: JSONDict | str, **changes: Any) -> JSONDict:
        """Edit a stored status (or store the given edited dict) and stream ``status.update``."""
        if isinstance(status, str):
            stored = self.state.status(status)
            if stored is None:
                raise KeyError(status)
            status = edited(stored.data, **changes)
        elif changes or not status.get("edited_at"):
            status = edited(status, **changes)
        self.state.replace_status(status)
        if is_local(status["account"]):
            await self._emit("status.updated", status_object(status))
        await self._fan_out("status.update", status)
        return status

    async def publish_delete(self, status_id: str) -> int:
        """Mark a status deleted and stream ``delete`` with its id string."""
        stored = self.state.mark_deleted(status_id)
        if stored is None:
            raise KeyError(status_id)
        return await self.hub.broadcast(channels.delete_channels(stored.data), "delete",
                                        str(stored.data["id"]))

    async def _fan_out(self, event: str, status: JSONDict) -> int:
        silenced = self.state.flags_of(str(status["account"]["id"])).silenced
        targets = channels.update_channels(status, silenced=silenced)
        return await self.hub.broadcast(targets, event, status_object(status))

    async def disconnect_streams(self, *, abrupt: bool = False, code: int = 1001) -> int:
        """Drop every streaming socket (close frame, or TCP abort); returns how many."""
        return await self.hub.disconnect_all(abrupt=abrupt, code=code)

    async def pause_streaming(self, seconds: float | None = None, *, status: int = 503) -> None:
        """Stop accepting streaming connections, optionally resuming after ``seconds``.

        With a separate streaming port the listener closes (connection refused);
        on a shared port upgrades are answered with ``status``.
        """
        if self._stream_site is not None:
            await self._stream_site.stop()
        else:
            self.hub.refusing = status
        if seconds is not None:
            loop = asyncio.get_running_loop()
            loop.call_later(seconds, lambda: self._spawn(self.resume_streaming()))

    async def resume_streaming(self) -> None:
        """Accept streaming connections again, on the same port."""
        self.hub.refusing = None
        if self._stream_runner is not None and self._stream_site is not None:
            self._stream_site = web.TCPSite(self._stream_runner, self.config.host,
                                            self.streaming_port)
            await self._stream_site.start()

    @property
    def connected_streams(self) -> int:
        return len(self.hub.sessions)

    # -- reports and webhooks -----------------------------------------------
    def register_webhook(self, url: str, secret: str, events: tuple[str, ...] | list[str] = (
            "report.created", "report.updated")) -> Webhook:
        """Subscribe ``url`` to events, as Admin > Webhooks does."""
        hook = Webhook(url=url, secret=secret, events=tuple(events))
        self.webhooks.append(hook)
        return hook

    async def update_report(self, report_id: str, **changes: Any) -> JSONDict:
        """Change a report (e.g. ``action_taken_at``, ``assigned_account_id``): report.updated."""
        report = self.state.reports[report_id]
        for name, value in changes.items():
            setattr(report, name, value)
        report.updated_at = utc_now()
        body = admin_report(self.state, report)
        await self._emit("report.updated", body)
        return body

    async def _emit(self, event: str, obj: JSONDict) -> None:
        agent = mastodon_user_agent(self.config.version, self.config.domain,
                                    self.config.user_agent_http_rb)
        for hook in self.webhooks:
            if hook.enabled and event in hook.events:
                delivery = build_delivery(hook.url, hook.secret, event, obj, user_agent=agent)
                self._spawn(self._deliver(delivery))

    async def _deliver(self, delivery: Delivery) -> None:
        attempts = await deliver_with_retries(delivery, time_scale=self.webhook_time_scale)
        self.deliveries.append((delivery, attempts))

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def webhooks_idle(self) -> None:
        """Wait until every queued webhook delivery has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
