"""A client-side limiter that keeps requests and tokens per minute under the account's budget.

Sending at the limit's pace is cheaper than sending fast and eating 429s: every rejected
request still costs a round trip and, at OpenAI, counts against the budget.

Workers sharing one API key share one budget, but each has a limiter of its own, configured
with the whole budget. So when responses report the account's budget
(``streams.scoring.rate_headers``), each bucket follows it: the settings stay a ceiling, a lower
limit of the server's lowers it, and how much of the server's budget is left sets how fast this
worker spends (``share_of_rate``). No worker knows how many others there are, and none needs
to. A server that sends no rate-limit headers leaves the buckets exactly as the settings make
them.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import Final

from streams.scoring.rate_headers import MINUTE_S, BudgetSnapshot, ServerBudget

#: While this share of the server's budget is left, a worker spends at its full rate.
FULL_RATE_LEFT: Final = 0.3
#: Below it, each further 0.06 of the budget gone divides the rate by e.
_E_FOLD: Final = 0.06
#: How long the estimate of the others' spending remembers: a few seconds of responses.
_NET_REFILL_MEMORY_S: Final = 5.0
#: The longest a request sleeps before it looks at the budgets again, while they follow the
#: server: a response to another request may have changed them meanwhile.
_RECHECK_S: Final = 0.5


def share_of_rate(fraction_left: float) -> float:
    """The part (0..1] of its full refill rate a worker spends at when ``fraction_left`` of the
    server's budget is left.

    Every worker sharing the key reads the same remaining budget and applies this same rule,
    so N busy workers spend N x share of the limit's rate while the server refills at 1: the
    budget drains until the share is 1/N, at ``FULL_RATE_LEFT - _E_FOLD x ln N`` left (0.30
    for 1 worker, 0.23 for 3, 0.16 for 10, 0.02 for 100), and holds there. Holding means the
    whole refill is spent, which is all of the limit, with that much of a minute's budget
    kept in reserve for what the workers' snapshots have not seen yet. Why exponential and not
    proportional to what is left: the settling point then moves with the log of N instead of
    1/N, so many workers still keep a reserve; and the loop answers in 60 x _E_FOLD = 3.6 s
    whatever N is (N workers each at slope share/_E_FOLD = 1/(N x _E_FOLD)). A worker that
    joins or leaves only moves the point where they settle. Never 0: a worker keeps asking
    now and then, and each answer tells it more.
    """
    return min(1.0, math.exp((fraction_left - FULL_RATE_LEFT) / _E_FOLD))


class _ServerView:
    """What one worker knows of one resource of the server's budget: the last snapshot, what
    it spent itself since, and how much of the refill the others leave it (``net_refill``,
    from none to all of it)."""

    def __init__(self, snapshot: BudgetSnapshot, now: float) -> None:
        self.snapshot = snapshot
        self.seen_at = now
        self.spent = 0.0
        # Until two snapshots tell otherwise, assume nobody else spends.
        self.net_refill = self.full_refill

    @property
    def full_refill(self) -> float:
        return self.snapshot.limit / MINUTE_S

    def update(self, snapshot: BudgetSnapshot, now: float) -> None:
        elapsed = now - self.seen_at
        # A full budget wasted part of its refill: that says nothing about the others.
        if elapsed > 0 and snapshot.remaining < snapshot.limit:
            # What the budget gained net, plus what this worker took from it: the refill less
            # what the others spent. Averaged over time, not over responses, so a burst of
            # answers a millisecond apart (their counts rounded) weighs no more than it lasted.
            sample = (snapshot.remaining - self.snapshot.remaining + self.spent) / elapsed
            weight = 1 - math.exp(-elapsed / _NET_REFILL_MEMORY_S)
            self.net_refill += weight * (sample - self.net_refill)
        self.snapshot, self.seen_at, self.spent = snapshot, now, 0.0
        # Never below 0: others draining faster than the refill is a burst (workers starting
        # with full buckets), not a rate to carry forward. Carried forward, a few seconds
        # without an answer (a busy event loop) would make every worker expect the budget
        # gone, and stop asking while the server has plenty.
        self.net_refill = min(max(self.net_refill, 0.0), self.full_refill)

    def fraction_left(self, now: float) -> float:
        """The snapshot carried forward to ``now``: the budget grows by the refill the others
        leave (seen from the last snapshots) and shrinks by what this worker spent since.
        Without that, a worker that got no answer for a while would either stay slowed down
        on old news or, counting the whole refill as its own, spend what the others spend."""
        estimate = self.snapshot.remaining + self.net_refill * (now - self.seen_at) - self.spent
        return min(1.0, max(0.0, estimate / self.snapshot.limit))


class _Bucket:
    """A token bucket refilled continuously at ``capacity / 60`` per second, times the share
    the server's budget allows (1 until the server says anything)."""

    def __init__(self, per_minute: float, now: float) -> None:
        self.ceiling = per_minute
        self.capacity = per_minute
        self.level = per_minute
        self.updated = now
        self.server: _ServerView | None = None

    def rate(self, now: float) -> float:
        share = 1.0 if self.server is None else share_of_rate(self.server.fraction_left(now))
        return self.capacity / MINUTE_S * share

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate(now))
        self.updated = now

    def wait_for(self, amount: float, now: float) -> float:
        """Seconds until ``amount`` is available (0 when it is now)."""
        amount = min(amount, self.capacity)  # a request bigger than the budget waits for a full one
        if self.level >= amount:
            return 0.0
        rate = self.rate(now)
        return (amount - self.level) / rate if rate > 0 else math.inf

    def take(self, amount: float) -> None:
        amount = min(amount, self.capacity)
        self.level -= amount
        if self.server is not None:
            self.server.spent += amount

    def follow(self, snapshot: BudgetSnapshot, now: float, refused: float) -> None:
        """Take the server's snapshot (``refused``: what a request it turned away had cost).

        Its limit lowers the ceiling, and this worker keeps at most its share of what is
        left, not all of it: N workers that read the same remaining and each spent it would
        spend it N times; holding ``remaining x share`` each, together they hold about what
        the server has.
        """
        self.refill(now)
        if self.server is None:
            self.server = _ServerView(snapshot, now)
        else:
            # A refused request is not taken from the server's budget here (the local server
            # does not charge 429s; OpenAI may, and then this errs on the slow side).
            self.server.spent -= min(refused, self.capacity)
            self.server.update(snapshot, now)
        self.capacity = min(self.ceiling, snapshot.limit)
        share = share_of_rate(self.server.fraction_left(now))
        self.level = min(self.level, self.capacity, snapshot.remaining * share)


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

    @property
    def follows_server(self) -> bool:
        """Whether a response has reported the server's budget (rate-limit headers)."""
        return self._requests.server is not None or self._tokens.server is not None

    def delay_for(self, tokens: int) -> float:
        """How long a request of ``tokens`` must wait now (no side effects)."""
        now = self._clock()
        self._requests.refill(now)
        self._tokens.refill(now)
        return max(
            self._paused_until - now,
            self._requests.wait_for(1, now),
            self._tokens.wait_for(tokens, now),
        )

    def take(self, tokens: int) -> None:
        """Charge a request of ``tokens``, as ``acquire`` does once ``delay_for`` says 0."""
        self._requests.take(1)
        self._tokens.take(tokens)

    async def acquire(self, tokens: int) -> float:
        """Wait until a request of ``tokens`` fits the budgets, take it; return the wait."""
        waited = 0.0
        async with self._lock:  # first come, first served: no starvation of big batches
            while (delay := self.delay_for(tokens)) > 0:
                if self.follows_server:
                    delay = min(delay, _RECHECK_S)
                await asyncio.sleep(delay)
                waited += delay
            self.take(tokens)
        return waited

    def refund(self, tokens: int) -> None:
        """Give back tokens that were reserved but not used (max_tokens above the real reply)."""
        self._tokens.level = min(self._tokens.capacity, self._tokens.level + max(0, tokens))

    def pause(self, seconds: float) -> None:
        """Hold every request for ``seconds``: the server said so (Retry-After)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def follow(self, budget: ServerBudget, *, refused_tokens: int | None = None) -> None:
        """Follow what a response said of the account's budget; ``refused_tokens``: the
        response was a 429 to a request of that many tokens. A part the response did not
        report leaves its bucket as it was."""
        now = self._clock()
        refused = refused_tokens is not None
        if budget.requests is not None:
            self._requests.follow(budget.requests, now, 1.0 if refused else 0.0)
        if budget.tokens is not None:
            self._tokens.follow(budget.tokens, now, float(refused_tokens or 0))
