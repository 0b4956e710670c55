"""REST endpoints: public timeline, instance, reports; plus the shared request guard.

Every API request passes, in Mastodon's order: Rack::Attack (429 before the
app runs), then Api::BaseController's ``set_rate_limit_headers`` and
``set_cache_headers`` (so even 401/403/422 answers carry ``X-RateLimit-*``),
then the endpoint's own before_actions.  See the modules each step cites.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from streams.testing.mastodon import auth, timeline
from streams.testing.mastodon.config import ServerConfig
from streams.testing.mastodon.entities import JSONDict, for_viewer
from streams.testing.mastodon.faults import FaultPlan, render_fault
from streams.testing.mastodon.instance import instance_entity
from streams.testing.mastodon.params import BadJSON, Params, read_params
from streams.testing.mastodon.ratelimit import RateLimiter, RequestFacts, Usage
from streams.testing.mastodon.reports import Refusal, build_report, report_entity
from streams.testing.mastodon.state import InstanceState, Token
from streams.testing.mastodon.webhook_payloads import admin_report

EventSink = Callable[[str, JSONDict], Awaitable[None]]
_PAGING_KEYS = ("page", "min_id", "max_id", "since_id")


@dataclass
class RecordedCall:
    """One REST call as the server saw it, for tests to inspect."""

    endpoint: str
    method: str
    path: str
    headers: dict[str, str]
    params: Params
    body: bytes
    status: int | None = None
    response: Any = None


@dataclass
class Guarded:
    """A request that got past the throttle: its params, token and rate-limit headers."""

    call: RecordedCall
    params: Params
    token: Token | None
    headers: dict[str, str] = field(default_factory=dict)


class RestApi:
    """aiohttp handlers for the REST side of the fake instance."""

    def __init__(self, state: InstanceState, config: ServerConfig, limiter: RateLimiter,
                 faults: FaultPlan, *, base_url: Callable[[], str],
                 streaming_url: Callable[[], str], on_event: EventSink) -> None:
        self.state = state
        self.config = config
        self.limiter = limiter
        self.faults = faults
        self.base_url = base_url
        self.streaming_url = streaming_url
        self.on_event = on_event
        self.calls: list[RecordedCall] = []

    # -- the guard ----------------------------------------------------------
    async def _guard(self, request: web.Request, endpoint: str) -> Guarded | web.Response:
        body = await request.read() if request.body_exists else b""
        call = RecordedCall(endpoint, request.method, request.path_qs, dict(request.headers),
                            {}, body)
        self.calls.append(call)
        try:
            call.params = await read_params(request)
        except BadJSON:
            error = {"error": "Error occurred while parsing request parameters"}
            return self._finish(call, auth.json_response(400, error))
        delay = self.faults.latency(endpoint)
        if delay > 0:
            await asyncio.sleep(delay)
        fault = self.faults.take(endpoint)
        if fault is not None:
            return self._finish(call, render_fault(fault))
        token = auth.find_token(self.state, request, call.params)
        guarded = Guarded(call, call.params, token)
        if self.config.rate_limits_enabled:
            facts = RequestFacts(
                path=request.path, remote_ip=request.remote or "127.0.0.1",
                user_id=token.account_id if token else None,
                token_id=token.token if token else None,
                paging=any(call.params.get(key) for key in _PAGING_KEYS))
            usage, refused = self.limiter.check(facts)
            if refused is not None:
                throttled = auth.json_response(429, {"error": "Too many requests"},
                                               refused.headers(0))
                return self._finish(call, throttled)
            if usage is not None:
                guarded.headers.update(usage.headers())
        guarded.headers["Cache-Control"] = "no-cache, no-store, max-age=0, must-revalidate"
        return guarded

    @staticmethod
    def _finish(call: RecordedCall, response: web.Response,
                headers: dict[str, str] | None = None) -> web.Response:
        for name, value in (headers or {}).items():
            response.headers.setdefault(name, value)
        call.status = response.status
        call.response = response.text
        return response

    # -- GET /api/v2/instance ----------------------------------------------
    async def instance(self, request: web.Request) -> web.Response:
        guarded = await self._guard(request, "instance")
        if isinstance(guarded, web.Response):
            return guarded
        contact = next(iter(self.state.accounts.values()), None)
        entity = instance_entity(self.config, streaming_url=self.streaming_url(),
                                 rules=self.state.rules, contact=contact)
        return self._finish(guarded.call, auth.json_response(200, entity), guarded.headers)

    # -- GET /api/v1/timelines/public --------------------------------------
    async def public_timeline(self, request: web.Request) -> web.Response:
        guarded = await self._guard(request, "timeline")
        if isinstance(guarded, web.Response):
            return guarded
        params, token = guarded.params, guarded.token
        refusal = auth.authorize_if_got_token(token, "read", "read:statuses")
        if refusal is None and timeline.needs_auth(
                params, self.config.local_feed_access, self.config.remote_feed_access):
            refusal = auth.require_user(token)
        if refusal is not None:
            return self._finish(guarded.call, refusal, guarded.headers)
        return self._finish(guarded.call, self._timeline_page(params, token), guarded.headers)

    def _timeline_page(self, params: Params, token: Token | None) -> web.Response:
        account_id = auth.current_account_id(token)
        has_user = account_id is not None
        staff = bool(token and token.can_view_feeds)
        scope = timeline.scope_for(
            params, token.chosen_languages if token and has_user else None,
            sees_local=timeline.may_see(self.config.local_feed_access,
                                        has_user=has_user, staff=staff),
            sees_remote=timeline.may_see(self.config.remote_feed_access,
                                         has_user=has_user, staff=staff))
        statuses = timeline.page(self.state, params, scope)
        rendered = [for_viewer(s) if has_user else s for s in statuses]
        response = auth.json_response(200, rendered)
        link = timeline.link_header(self.base_url(), params, statuses)
        if link:
            response.headers["Link"] = link
        return response

    # -- POST /api/v1/reports ----------------------------------------------
    async def reports(self, request: web.Request) -> web.Response:
        guarded = await self._guard(request, "reports")
        if isinstance(guarded, web.Response):
            return guarded
        token = guarded.token
        refusal = auth.doorkeeper_authorize(token, "write", "write:reports") or \
            auth.require_user(token)
        if refusal is not None or token is None or token.account_id is None:
            return self._finish(guarded.call, refusal or auth.json_response(401, {}),
                                guarded.headers)
        response, usage = await self._file_report(token.account_id, guarded.params)
        return self._finish(guarded.call, response,
                            self._override_headers(guarded.headers, usage))

    async def _file_report(self, reporter_id: str, params: Params) -> tuple[web.Response, Usage]:
        try:
            report = build_report(self.state, reporter_id, params)
        except Refusal as refusal:
            usage, _ = self.limiter.family("reports", reporter_id, record=False)
            return auth.json_response(refusal.status, refusal.body), usage
        usage, refused = self.limiter.family("reports", reporter_id, record=True)
        if refused:
            return auth.json_response(429, {"error": "Too many requests"}), usage
        with self.state.lock:
            self.state.reports[report.id] = report
        await self.on_event("report.created", admin_report(self.state, report))
        return auth.json_response(200, report_entity(self.state, report)), usage

    @staticmethod
    def _override_headers(headers: dict[str, str], usage: Usage) -> dict[str, str]:
        """``override_rate_limit_headers``: the family's headers when more restrictive."""
        current = headers.get("X-RateLimit-Remaining")
        if current is not None and usage.remaining > int(current):
            return headers
        return {**headers, **usage.headers()}

    # -- GET /api/v1/streaming on the REST host ---------------------------
    async def streaming_redirect(self, request: web.Request) -> web.Response:
        """Api::V1::StreamingController: 404 on the same host, else a 301 to the streaming host."""
        target = self.streaming_url().replace("ws://", "http://").replace("wss://", "https://")
        if target.rstrip("/") == self.base_url().rstrip("/"):
            return auth.json_response(404, {"error": "Not found"})
        raise web.HTTPMovedPermanently(target + request.path_qs)
