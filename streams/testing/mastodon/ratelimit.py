"""Rate limiting as Mastodon's Rack::Attack throttles and RateLimiter do it.

* Throttles and the 429 response: mastodon/mastodon config/initializers/rack_attack.rb.
  Windows are fixed and aligned to the Unix epoch (Rack::Attack keys its
  counters by ``now / period``); a request is refused once the window's count
  exceeds the limit.  Every API response carries ``X-RateLimit-Limit``,
  ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (ISO 8601, microseconds)
  of the throttle closest to exhaustion
  (app/controllers/concerns/rate_limit_headers.rb).
* Per-action families such as ``reports`` (400 per 24 h per account):
  app/lib/rate_limiter.rb; their headers replace the throttle's when they are
  more restrictive (``override_rate_limit_headers`` in the same concern).

Mastodon safelists requests from 127.0.0.1; this fake does not, so that tests
on loopback can see the limits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from streams.testing.mastodon.ids import iso_micro

Clock = Callable[[], float]


@dataclass
class RequestFacts:
    """What the throttles look at."""

    path: str
    remote_ip: str
    user_id: str | None
    token_id: str | None
    paging: bool


@dataclass
class Throttle:
    """One Rack::Attack ``throttle(name, limit:, period:)`` rule."""

    name: str
    limit: int
    period: int
    key: Callable[[RequestFacts], str | None]


@dataclass(frozen=True)
class Usage:
    """One throttle's state after counting a request."""

    limit: int
    count: int
    period: int
    now: float

    @property
    def remaining(self) -> int:
        return max(self.limit - self.count, 0)

    def reset(self) -> str:
        """``now + (period - now % period)`` as Ruby's ``iso8601(6)``."""
        whole = int(self.now)
        moment = whole + (self.period - whole % self.period)
        return iso_micro(datetime.fromtimestamp(moment, UTC))

    def headers(self, remaining: int | None = None) -> dict[str, str]:
        left = self.remaining if remaining is None else remaining
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(left),
            "X-RateLimit-Reset": self.reset(),
        }


def _api(facts: RequestFacts) -> bool:
    return facts.path.startswith("/api")


def mastodon_throttles() -> list[Throttle]:
    """The API throttles of config/initializers/rack_attack.rb."""
    return [
        Throttle("throttle_authenticated_api", 1500, 300,
                 lambda f: f.user_id if _api(f) else None),
        Throttle("throttle_per_token_api", 300, 300,
                 lambda f: f.token_id if _api(f) else None),
        Throttle("throttle_unauthenticated_api", 300, 300,
                 lambda f: f.remote_ip if _api(f) and f.user_id is None else None),
        Throttle("throttle_authenticated_paging", 300, 900,
                 lambda f: f.user_id if f.paging else None),
        Throttle("throttle_unauthenticated_paging", 300, 900,
                 lambda f: f.remote_ip if f.paging and f.user_id is None else None),
    ]


class RateLimiter:
    """Counts requests per throttle window; test hooks reshape the budget."""

    def __init__(self, clock: Clock = time.time) -> None:
        self.clock = clock
        self.throttles = mastodon_throttles()
        self.families: dict[str, tuple[int, int]] = {"reports": (400, 86_400)}
        self._counts: dict[tuple[str, int, str], int] = {}
        self._lock = threading.Lock()

    def set_budget(self, limit: int, *, period: int = 300, remaining: int | None = None) -> None:
        """Replace the throttles by one shared API budget of ``limit`` per ``period``.

        ``remaining`` pre-spends the current window so that many requests are left.
        """
        with self._lock:
            self.throttles = [Throttle("throttle_api", limit, period,
                                       lambda f: "all" if _api(f) else None)]
            self._counts.clear()
            if remaining is not None:
                window = int(self.clock()) // period
                self._counts[("throttle_api", window, "all")] = max(limit - remaining, 0)

    def set_family(self, family: str, limit: int, period: int, *, used: int = 0) -> None:
        """Reshape a RateLimiter family (e.g. ``reports``) and pre-spend ``used``."""
        with self._lock:
            self.families[family] = (limit, period)
            for key in [k for k in self._counts if k[0] == f"family:{family}"]:
                del self._counts[key]
            if used:
                window = int(self.clock()) // period
                self._counts[(f"family:{family}", window, "*")] = used

    def _bump(self, name: str, period: int, key: str, *, add: int = 1) -> int:
        window = int(self.clock()) // period
        slot = (name, window, key)
        self._counts[slot] = self._counts.get(slot, 0) + add
        return self._counts[slot]

    def check(self, facts: RequestFacts) -> tuple[Usage | None, Usage | None]:
        """Count the request: (usage closest to exhaustion, usage that refused it)."""
        now = self.clock()
        seen: list[Usage] = []
        with self._lock:
            for throttle in self.throttles:
                key = throttle.key(facts)
                if key is None:
                    continue
                count = self._bump(throttle.name, throttle.period, key)
                usage = Usage(throttle.limit, count, throttle.period, now)
                if count > throttle.limit:
                    # Rack::Attack stops at the first throttle that refuses.
                    return usage, usage
                seen.append(usage)
        closest = min(seen, key=lambda u: u.limit - u.count) if seen else None
        return closest, None

    def family(self, family: str, account_id: str, *, record: bool) -> tuple[Usage, bool]:
        """RateLimiter#record! / #to_headers: (usage, whether the action is refused)."""
        limit, period = self.families[family]
        now = self.clock()
        with self._lock:
            shared = self._counts.get((f"family:{family}", int(now) // period, "*"), 0)
            count = self._bump(f"family:{family}", period, account_id, add=0) + shared
            refused = record and count >= limit
            if record and not refused:
                count = self._bump(f"family:{family}", period, account_id) + shared
        return Usage(limit, count, period, now), refused
