"""A client-side limiter that keeps requests and tokens per minute under the account's budget.

Sending at the limit's pace is cheaper than sending fast and eating 429s: every rejected
request still costs a round trip and, at OpenAI, counts against the budget.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class _Bucket:
    """A token bucket refilled continuously at ``per_minute / 60`` per second."""

    def __init__(self, per_minute: float, now: float) -> None:
        self.capacity = per_minute
        self.rate = per_minute / 60.0
        self.level = per_minute
        self.updated = now

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now

    def wait_for(self, amount: float) -> float:
        """Seconds until ``amount`` is available (0 when it is now)."""
        amount = min(amount, self.capacity)  # a request bigger than the budget waits for a full one
        return 0.0 if self.level >= amount else (amount - self.level) / self.rate


class RateLimiter:
    """Requests-per-minute and tokens-per-minute budgets, plus a pause after a 429."""

    def __init__(
        self,
        requests_per_minute: float,
        tokens_per_minute: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        now = clock()
        self._clock = clock
        self._requests = _Bucket(requests_per_minute, now)
        self._tokens = _Bucket(tokens_per_minute, now)
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def delay_for(self, tokens: int) -> float:
        """How long a request of ``tokens`` must wait now (no side effects)."""
        now = self._clock()
        self._requests.refill(now)
        self._tokens.refill(now)
        return max(
            self._paused_until - now, self._requests.wait_for(1), self._tokens.wait_for(tokens)
        )

    async def acquire(self, tokens: int) -> float:
        """Wait until a request of ``tokens`` fits the budgets, take it; return the wait."""
        waited = 0.0
        async with self._lock:  # first come, first served: no starvation of big batches
            while (delay := self.delay_for(tokens)) > 0:
                await asyncio.sleep(delay)
                waited += delay
            self._requests.level -= 1
            self._tokens.level -= min(tokens, self._tokens.capacity)
        return waited

    def refund(self, tokens: int) -> None:
        """Give back tokens that were reserved but not used (max_tokens above the real reply)."""
        self._tokens.level = min(self._tokens.capacity, self._tokens.level + max(0, tokens))

    def pause(self, seconds: float) -> None:
        """Hold every request for ``seconds``: the server said so (Retry-After)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)
