"""The fake server's RPM/TPM limits, on a clock the test moves."""

from __future__ import annotations

import pytest

from streams.testing.llm_server.limits import RateLimits, duration


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_no_limits_admit_everything(clock: Clock) -> None:
    limits = RateLimits(None, None, clock)
    assert all(limits.admit(10**9).admitted for _ in range(100))
    assert limits.headers() == {}


def test_tokens_refill_over_the_minute(clock: Clock) -> None:
    limits = RateLimits(None, 6000, clock)
    assert limits.admit(5000).admitted
    refused = limits.admit(2000)
    assert not refused.admitted
    assert refused.retry_after_s == pytest.approx(10.0)  # 1000 missing at 100 tokens/s
    clock.now += 10
    assert limits.admit(2000).admitted


def test_requests_per_minute(clock: Clock) -> None:
    limits = RateLimits(2, None, clock)
    assert limits.admit(1).admitted and limits.admit(1).admitted
    assert limits.admit(1).retry_after_s == pytest.approx(30.0)


def test_a_refused_request_is_not_charged(clock: Clock) -> None:
    limits = RateLimits(10, 1000, clock)
    assert not limits.admit(1001).admitted
    assert limits.admit(1001).too_large
    assert limits.admit(1000).admitted
    assert limits.headers()["x-ratelimit-remaining-requests"] == "9"


def test_headers_follow_openai(clock: Clock) -> None:
    limits = RateLimits(60, 6000, clock)
    limits.admit(3000)
    assert limits.headers() == {
        "x-ratelimit-limit-requests": "60",
        "x-ratelimit-remaining-requests": "59",
        "x-ratelimit-reset-requests": "1s",
        "x-ratelimit-limit-tokens": "6000",
        "x-ratelimit-remaining-tokens": "3000",
        "x-ratelimit-reset-tokens": "30s",
    }


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.12, "120ms"), (1.5, "1.5s"), (360, "6m0s"), (61.2, "1m2s")]
)
def test_durations(seconds: float, text: str) -> None:
    assert duration(seconds) == text
