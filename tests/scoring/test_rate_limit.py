"""Client-side limiter and retry helpers, on a fake clock."""

from __future__ import annotations

import asyncio
import random

import pytest

from streams.scoring.backend import TokenUsage
from streams.scoring.openai_backend import backoff_s, cost_usd, retry_after_s
from streams.scoring.rate_limit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_requests_per_minute_budget() -> None:
    clock = Clock()
    limiter = RateLimiter(requests_per_minute=60, tokens_per_minute=1e9, clock=clock)
    for _ in range(60):
        assert limiter.delay_for(1) == 0
        limiter._requests.level -= 1
    assert limiter.delay_for(1) == pytest.approx(1.0)
    clock.now += 0.5
    assert limiter.delay_for(1) == pytest.approx(0.5)


def test_tokens_per_minute_budget_and_refund() -> None:
    clock = Clock()
    limiter = RateLimiter(requests_per_minute=1e6, tokens_per_minute=6000, clock=clock)
    asyncio.run(limiter.acquire(6000))
    assert limiter.delay_for(600) == pytest.approx(6.0)
    limiter.refund(600)
    assert limiter.delay_for(600) == 0


def test_pause_after_429_holds_everyone() -> None:
    clock = Clock()
    limiter = RateLimiter(1e6, 1e9, clock=clock)
    limiter.pause(2.5)
    assert limiter.delay_for(1) == pytest.approx(2.5)
    clock.now += 3
    assert limiter.delay_for(1) == 0


def test_retry_after_headers() -> None:
    assert retry_after_s({"retry-after-ms": "1500", "retry-after": "2"}) == 1.5
    assert retry_after_s({"retry-after": "3"}) == 3.0
    assert retry_after_s({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None
    assert retry_after_s({}) is None


def test_backoff_grows_and_is_capped() -> None:
    rng = random.Random(3)
    waits = [backoff_s(a, 1.0, 10.0, rng) for a in range(8) for _ in range(50)]
    assert all(0 <= w <= 10.0 for w in waits)
    first = [backoff_s(0, 1.0, 10.0, rng) for _ in range(200)]
    assert max(first) <= 1.0 and max(waits) > 5


def test_cost_counts_cached_input_at_its_price() -> None:
    prices = {"input": 0.15, "cached_input": 0.075, "output": 0.60}
    usage = TokenUsage(input_tokens=1_000_000, cached_input_tokens=400_000, output_tokens=100_000)
    assert cost_usd(usage, prices) == pytest.approx(0.6 * 0.15 + 0.4 * 0.075 + 0.1 * 0.60)
    assert cost_usd(usage, None) == 0.0
