"""The limiter following the server's budget (rate-limit headers), on a fake clock; and N
workers' limiters against the local server's own RPM/TPM limits in a simulation of time."""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from streams.scoring.rate_headers import BudgetSnapshot, ServerBudget, read_budget
from streams.scoring.rate_limit import FULL_RATE_LEFT, RateLimiter, share_of_rate
from streams.testing.llm_server.limits import RateLimits


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def requests_left(limit: float, remaining: float) -> ServerBudget:
    return ServerBudget(requests=BudgetSnapshot(limit, remaining))


def immediate(limiter: RateLimiter, tokens: int = 1, most: int = 10_000) -> int:
    """How many requests of ``tokens`` go now without waiting."""
    sent = 0
    while sent < most and limiter.delay_for(tokens) == 0:
        limiter.take(tokens)
        sent += 1
    return sent


# --- the rule every worker applies ---------------------------------------------------------


def test_full_rate_while_enough_is_left_and_never_zero() -> None:
    assert share_of_rate(1.0) == share_of_rate(FULL_RATE_LEFT) == 1.0
    shares = [share_of_rate(f / 100) for f in range(0, 31)]
    assert shares == sorted(shares) and len(set(shares)) == len(shares)
    assert 0 < share_of_rate(0.0) < 0.01


@pytest.mark.parametrize("workers", [1, 3, 10, 100])
def test_n_workers_settle_where_each_has_a_nth(workers: int) -> None:
    settled = FULL_RATE_LEFT - 0.06 * math.log(workers)
    assert share_of_rate(settled) == pytest.approx(1 / workers)
    assert settled > 0  # a reserve is left even for a hundred workers


# --- one limiter following the headers -----------------------------------------------------


def test_without_headers_nothing_changes() -> None:
    clock = Clock()
    limiter, reference = RateLimiter(60, 1e9, clock), RateLimiter(60, 1e9, clock)
    limiter.follow(ServerBudget())
    limiter.follow(read_budget({"content-type": "application/json"}))
    assert not limiter.follows_server
    assert immediate(limiter) == immediate(reference) == 60
    clock.now += 0.5
    assert limiter.delay_for(1) == reference.delay_for(1) == pytest.approx(0.5)


def test_a_lower_server_limit_lowers_the_ceiling() -> None:
    limiter = RateLimiter(1000, 1e9, Clock())
    limiter.follow(requests_left(60, 60))
    assert immediate(limiter) == 60


def test_the_settings_stay_a_ceiling() -> None:
    clock = Clock()
    limiter = RateLimiter(60, 1e9, clock)
    limiter.follow(requests_left(1000, 1000))
    assert immediate(limiter) == 60
    # The server has plenty left: the refill is the settings' full rate, one a second.
    assert limiter.delay_for(1) == pytest.approx(1.0, rel=0.01)


def test_a_worker_holds_only_its_share_of_what_is_left() -> None:
    plenty = RateLimiter(1000, 1e9, Clock())
    plenty.follow(requests_left(1000, 600))
    assert immediate(plenty) == 600  # 0.6 left: full share, all of it
    scarce = RateLimiter(1000, 1e9, Clock())
    scarce.follow(requests_left(1000, 100))
    # 0.1 left: a share of e^(-0.2/0.06) = 3.6 %, so 3 of the 100 (the others take theirs).
    assert immediate(scarce) == 3


def test_tokens_follow_their_own_headers() -> None:
    limiter = RateLimiter(1e6, 100_000, Clock())
    limiter.follow(ServerBudget(tokens=BudgetSnapshot(50_000, 30_000)))
    assert immediate(limiter, tokens=1000) == 30
    assert limiter.delay_for(1000) > 0


def test_a_snapshot_ages_by_the_refill_the_others_leave() -> None:
    """Two workers last saw 15 of 60 requests left. One saw it grow by the refill (nobody else
    spends), the other saw it stay there (the others spend the refill). In the next 20 s
    without news, the first expects the budget to grow and spends most of it; the second
    expects it to stay, and holds back."""
    sent = []
    for growth in (1.0, 0.0):
        clock = Clock()
        limiter = RateLimiter(60, 1e9, clock)
        for second in range(10):
            limiter.follow(requests_left(60, 15 - growth * (9 - second)))
            clock.now += 1
        count = 0
        for _ in range(200):
            count += immediate(limiter)
            clock.now += 0.1
        sent.append(count)
    alone, crowded = sent
    assert alone >= 15
    assert crowded <= 9  # 6 of them the share of the 15 it held


def test_a_429_is_not_counted_as_spent_on_the_server() -> None:
    """The refused request did not come out of the server's budget: a limiter that counted it
    would read the others as spending less than they do."""
    counted, uncounted = [], []
    for refused, out in ((None, counted), (1000, uncounted)):
        clock = Clock()
        limiter = RateLimiter(1e6, 60_000, clock)
        tenth_left = ServerBudget(tokens=BudgetSnapshot(60_000, 6000))
        limiter.follow(tenth_left)
        for _ in range(5):
            clock.now += 1
            limiter.take(1000)
            limiter.follow(tenth_left, refused_tokens=refused)
        clock.now += 5
        out.append(limiter.delay_for(1000))
    assert counted[0] < uncounted[0]


# --- N workers against one server's limits, in simulated time -----------------------------


@dataclass
class Run:
    """N workers, each with its own limiter and ``slots`` requests in flight at most, sending
    requests of ``cost`` tokens to a server enforcing one RPM/TPM limit for all of them."""

    workers: int
    rpm: int = 120
    tpm: int = 10**9
    cost: int = 2000
    #: The limiters' settings; None: the server's limits (each worker is given the account's).
    settings: tuple[float, float] | None = None
    follow: bool = True
    latency_s: float = 0.05
    slots: int = 4
    join_every_s: float = 0.0
    clock: Clock = field(default_factory=Clock)
    calls: int = 0
    refused: int = 0
    admitted: list[float] = field(default_factory=list)

    def simulate(self, duration_s: float) -> None:
        server = RateLimits(self.rpm, self.tpm, self.clock)
        rpm, tpm = self.settings or (self.rpm, self.tpm)
        limiters = [RateLimiter(rpm, tpm, self.clock) for _ in range(self.workers)]
        rng, start = random.Random(1), self.clock.now
        events: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]] = []
        order = itertools.count()

        def at(delay: float, action: Callable[..., None], *args: Any) -> None:
            heapq.heappush(events, (self.clock.now + delay, next(order), action, args))

        def send(limiter: RateLimiter) -> None:
            # A slot waits and looks again as acquire() does while following the server.
            if (delay := limiter.delay_for(self.cost)) > 0:
                at(max(min(delay, 0.5), 1e-3), send, limiter)
                return
            limiter.take(self.cost)
            self.calls += 1
            admission = server.admit(self.cost)
            if admission.admitted:
                self.admitted.append(self.clock.now)
                at(self.latency_s * rng.uniform(0.5, 1.5), answer, limiter, None)
            else:
                at(0.001, answer, limiter, admission.retry_after_s)

        def answer(limiter: RateLimiter, retry_after_s: float | None) -> None:
            if self.follow:
                refused = self.cost if retry_after_s is not None else None
                limiter.follow(read_budget(server.headers()), refused_tokens=refused)
            if retry_after_s is not None:
                self.refused += 1
                limiter.pause(retry_after_s)
            send(limiter)

        for number, limiter in enumerate(limiters):
            for _ in range(self.slots):
                at(number * self.join_every_s, send, limiter)
        while events and events[0][0] <= start + duration_s:
            self.clock.now, _, action, args = heapq.heappop(events)
            action(*args)

    def use(self, since_s: float, until_s: float) -> float:
        """Requests admitted from ``since_s`` to ``until_s`` (from the start), as a share of
        what the limits let through in that time."""
        start = self.admitted[0]
        count = sum(1 for t in self.admitted if since_s <= t - start < until_s)
        return count / ((until_s - since_s) * min(self.rpm, self.tpm / self.cost) / 60)

    @property
    def refused_share(self) -> float:
        return self.refused / self.calls


@pytest.mark.parametrize("workers", [1, 3, 10])
@pytest.mark.parametrize(
    ("rpm", "tpm"), [(120, 10**9), (10**6, 240_000)], ids=["requests bind", "tokens bind"]
)
def test_workers_sharing_a_key_use_all_of_its_limit_with_few_429s(
    workers: int, rpm: int, tpm: int
) -> None:
    run = Run(workers, rpm=rpm, tpm=tpm)
    run.simulate(150)
    # After the first minute (the budget starts full: a minute's worth goes out at once).
    assert run.use(60, 150) >= 0.95
    assert run.refused_share <= 0.01


def test_without_headers_three_workers_spend_three_times_the_limit() -> None:
    run = Run(3, follow=False)
    run.simulate(150)
    assert run.use(60, 150) >= 0.95
    assert run.refused_share > 0.5  # two of every three calls answered 429


def test_workers_that_join_one_by_one_converge() -> None:
    run = Run(3, join_every_s=30, latency_s=1.0)
    run.simulate(180)
    assert run.use(90, 180) >= 0.95
    assert run.refused_share <= 0.01


def test_lower_settings_stay_the_ceiling() -> None:
    run = Run(1, settings=(60, 10**9))
    run.simulate(150)
    assert run.use(60, 150) == pytest.approx(0.5, abs=0.03)
    assert run.refused == 0


def test_workers_starting_together_on_a_small_budget_do_not_stall() -> None:
    """Three workers with full buckets drain the server's budget many times faster than it
    refills. Carried forward as the others' rate, that burst would make each expect the
    budget gone within seconds of its last answer, and all stop asking while the server has
    plenty (the limiter once did: a third of the limit used)."""
    run = Run(3, rpm=60, tpm=120_000, cost=2200, latency_s=0.2)
    run.simulate(150)
    assert run.use(10, 60) >= 0.9
    assert run.use(60, 150) >= 0.95
    assert run.refused_share <= 0.01
