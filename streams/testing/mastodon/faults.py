"""Injectable failures for the next N calls of an endpoint.

Default bodies copy what a client meets in front of a real instance:

* 429 — the Rack::Attack throttled response (mastodon/mastodon
  config/initializers/rack_attack.rb): JSON ``{"error":"Too many requests"}``
  with ``X-RateLimit-*`` headers, ``Remaining`` 0 and the window's reset time.
* 401 / 403 — Doorkeeper's invalid-token / insufficient-scope answers (see auth.py).
* 422 — a Rails validation failure ``{"error":"Validation failed: ..."}``
  (app/controllers/concerns/api/error_handling.rb).
* 5xx — an HTML error page, as the reverse proxy (nginx) in front of
  Puma serves when the app is down or overloaded.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp import web

from streams.testing.mastodon.auth import (
    OUTSIDE_SCOPES,
    doorkeeper_authorize,
    json_response,
)
from streams.testing.mastodon.ids import iso_micro
from streams.testing.mastodon.ratelimit import Usage

_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
            504: "Gateway Time-out"}


@dataclass
class Fault:
    """One injected answer; ``body`` None means the Mastodon-shaped default."""

    status: int
    body: object | None = None
    headers: dict[str, str] = field(default_factory=dict)
    limit: int = 300
    period: int = 300
    #: For a 429: the window resets this many seconds from the answer, not at its boundary
    #: (a client that honours the reset waits about this long).
    reset_in_s: float | None = None


def _html_error(status: int) -> web.Response:
    reason = _REASONS.get(status, "Error")
    page = (f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
            f"<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
            "</body>\r\n</html>\r\n")
    return web.Response(status=status, text=page, content_type="text/html")


def render_fault(fault: Fault) -> web.Response:
    """The HTTP response for ``fault``."""
    if fault.body is not None:
        response = json_response(fault.status, fault.body)
    elif fault.status == 429:
        usage = Usage(fault.limit, fault.limit + 1, fault.period, time.time())
        headers = usage.headers(0)
        if fault.reset_in_s is not None:
            reset = datetime.fromtimestamp(time.time() + fault.reset_in_s, UTC)
            headers["X-RateLimit-Reset"] = iso_micro(reset)
        response = json_response(429, {"error": "Too many requests"}, headers)
    elif fault.status == 401:
        response = doorkeeper_authorize(None) or json_response(401, {})
    elif fault.status == 403:
        response = json_response(403, {"error": OUTSIDE_SCOPES})
    elif fault.status == 422:
        response = json_response(422, {"error": "Validation failed: Injected failure"})
    elif fault.status >= 500:
        response = _html_error(fault.status)
    else:
        response = json_response(fault.status, {"error": "Injected failure"})
    response.headers.update(fault.headers)
    return response


class FaultPlan:
    """Per-endpoint queues of faults, consumed one per call, and per-endpoint latency."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[Fault]] = defaultdict(deque)
        self._latency: dict[str, float] = {}
        self._lock = threading.Lock()

    def set_latency(self, endpoint: str, seconds: float) -> None:
        """Answer every later call of ``endpoint`` ``seconds`` late (a busy instance)."""
        with self._lock:
            self._latency[endpoint] = seconds

    def latency(self, endpoint: str) -> float:
        with self._lock:
            return self._latency.get(endpoint, 0.0)

    def inject(self, endpoint: str, status: int, times: int = 1, **options: object) -> None:
        """Answer the next ``times`` calls of ``endpoint`` with ``status``.

        Endpoints: ``timeline``, ``reports``, ``instance``, ``streaming``.
        Options are Fault fields: ``body``, ``headers``, ``limit``, ``period``,
        ``reset_in_s``.
        """
        with self._lock:
            for _ in range(times):
                self._queues[endpoint].append(Fault(status, **options))  # type: ignore[arg-type]

    def take(self, endpoint: str) -> Fault | None:
        with self._lock:
            queue = self._queues.get(endpoint)
            return queue.popleft() if queue else None

    def clear(self) -> None:
        with self._lock:
            self._queues.clear()
            self._latency.clear()
