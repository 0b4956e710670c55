"""Reading the account's budget from OpenAI's x-ratelimit-* headers. Pure."""

from __future__ import annotations

import httpx2
import pytest

from streams.scoring.rate_headers import BudgetSnapshot, ServerBudget, parse_duration, read_budget

OPENAI_HEADERS = {
    "x-ratelimit-limit-requests": "500",
    "x-ratelimit-remaining-requests": "499",
    "x-ratelimit-reset-requests": "120ms",
    "x-ratelimit-limit-tokens": "200000",
    "x-ratelimit-remaining-tokens": "150000",
    "x-ratelimit-reset-tokens": "15s",
}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("120ms", 0.12), ("1.5s", 1.5), ("6m0s", 360.0), ("1h2m3s", 3723.0), ("0s", 0.0),
     ("17ms", 0.017), ("250us", 0.00025), ("2m30.5s", 150.5), ("3", 3.0), (" 20ms ", 0.02)],
)  # fmt: skip
def test_durations_in_gos_format(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "soon", "5x", "1m-2s", "-1s", "ms", "1s 2s", "nan", "-3"])
def test_unreadable_durations_are_none(text: str) -> None:
    assert parse_duration(text) is None


def test_both_budgets_are_read() -> None:
    budget = read_budget(OPENAI_HEADERS)
    assert budget == ServerBudget(
        BudgetSnapshot(500, 499, 0.12), BudgetSnapshot(200_000, 150_000, 15.0)
    )
    assert budget.known
    assert budget.tokens is not None and budget.tokens.fraction_left == 0.75


def test_names_are_looked_up_case_blind_in_the_clients_headers() -> None:
    shouted = httpx2.Headers({name.upper(): value for name, value in OPENAI_HEADERS.items()})
    assert read_budget(shouted) == read_budget(OPENAI_HEADERS)


def test_no_headers_is_no_budget() -> None:
    assert read_budget(None) == ServerBudget()
    assert not read_budget({"content-type": "application/json"}).known


def test_a_half_reported_or_unreadable_budget_is_left_out() -> None:
    only_tokens = {k: v for k, v in OPENAI_HEADERS.items() if "requests" not in k}
    assert read_budget(only_tokens).requests is None
    assert read_budget(only_tokens).tokens is not None
    no_remaining = {k: v for k, v in only_tokens.items() if "remaining" not in k}
    assert not read_budget(no_remaining).known
    for bad in ("many", "-5", "inf"):
        assert not read_budget({**only_tokens, "x-ratelimit-remaining-tokens": bad}).known
    assert not read_budget({**only_tokens, "x-ratelimit-limit-tokens": "0"}).known


def test_an_unreadable_reset_still_gives_the_budget() -> None:
    budget = read_budget({**OPENAI_HEADERS, "x-ratelimit-reset-tokens": "later"})
    assert budget.tokens == BudgetSnapshot(200_000, 150_000, None)


def test_remaining_above_the_limit_is_the_limit() -> None:
    budget = read_budget({**OPENAI_HEADERS, "x-ratelimit-remaining-requests": "900"})
    assert budget.requests == BudgetSnapshot(500, 500, 0.12)


def test_a_budget_that_refills_over_a_day_is_not_a_per_minute_one() -> None:
    # Some OpenAI-compatible providers send requests per day in these headers: 1,000 of
    # 14,400 used and 1h40m to go is a day's refill, not a minute's.
    daily = {"x-ratelimit-limit-requests": "14400", "x-ratelimit-remaining-requests": "13400",
             "x-ratelimit-reset-requests": "1h40m0s"}  # fmt: skip
    assert read_budget(daily).requests is None
    # A minute's: a quarter used, 15 s to refill.
    minute = {**daily, "x-ratelimit-remaining-requests": "10800",
              "x-ratelimit-reset-requests": "15s"}  # fmt: skip
    assert read_budget(minute).requests == BudgetSnapshot(14400, 10800, 15.0)
    # Too little used for a rounded reset to tell anything: believed.
    nearly_full = {**daily, "x-ratelimit-remaining-requests": "14399"}
    assert read_budget(nearly_full).requests is not None
