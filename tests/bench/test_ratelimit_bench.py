"""``streams bench ratelimit``: its pure helpers, and the command end to end on a real broker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from streams.bench.ratelimit import (
    SETTLED_FOR_S,
    RateBenchConfig,
    budget_left,
    calls_between,
    ceiling_posts_per_s,
    charged_tokens_per_post,
    has_settled,
    posts_for,
    run_section,
)
from streams.testing.corpus import make_posts


def stats(requests: int, ok: int, refused: int = 0, items: int = 0, charged: int = 0,
          **budget: str) -> dict[str, Any]:  # fmt: skip
    by_status = {"200": ok, "429": refused} if refused else {"200": ok}
    return {"requests": requests, "by_status": by_status, "items": items,
            "charged_tokens": charged, "budget": budget}  # fmt: skip


def test_the_ceiling_is_the_tighter_limit() -> None:
    # 120,000 tokens a minute at 100 a post: 20 posts/s; 60 requests of 25: 25 posts/s.
    assert ceiling_posts_per_s(60, 120_000, 25, 100.0) == pytest.approx(20.0)
    assert ceiling_posts_per_s(30, 120_000, 25, 100.0) == pytest.approx(12.5)


def test_charged_tokens_per_post_counts_the_prompt_and_max_tokens() -> None:
    per_post = charged_tokens_per_post(make_posts(25), 25)
    assert 50 < per_post < 150


def test_enough_posts_for_the_whole_run() -> None:
    short, long = RateBenchConfig(window_s=10), RateBenchConfig(window_s=100)
    assert posts_for(long, 88.0) > posts_for(short, 88.0)
    # At least the minute of full budget, the start, settling and the window at the ceiling.
    ceiling = ceiling_posts_per_s(short.rpm, short.tpm, short.batch_size, 88.0)
    assert posts_for(short, 88.0) >= ceiling * (60 + 60 + short.settle_max_s + 10)


def test_settled_once_the_budget_left_stops_moving() -> None:
    assert not has_settled([], 100.0)
    steady = [(t, 0.23 + 0.01 * (t % 2)) for t in range(0, 12)]
    assert has_settled(steady, 12.0)
    assert not has_settled(steady[-5:], 12.0)  # not yet watched long enough
    draining = [(float(t), 1.0 - 0.02 * t) for t in range(0, 12)]
    assert not has_settled(draining, 12.0)
    assert SETTLED_FOR_S <= 12


def test_budget_left_is_the_tighter_of_the_two() -> None:
    budget = {
        "x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "30",
        "x-ratelimit-limit-tokens": "1000", "x-ratelimit-remaining-tokens": "200",
    }  # fmt: skip
    assert budget_left({"budget": budget}) == 0.2
    assert budget_left({"budget": {}}) is None


def test_calls_and_429s_between_two_snapshots() -> None:
    before, after = stats(10, 10), stats(110, 90, refused=10)
    # 4 requests were still in flight at the second snapshot: not calls answered yet.
    after["by_status"]["500"] = 2
    counted = calls_between(before, after)
    assert counted == {"calls": 92, "answered_429": 10, "share_429": 0.1087, "other_errors": 2}


def test_a_run_section_compares_the_window_with_the_ceiling() -> None:
    config = RateBenchConfig(rpm=60, tpm=120_000, batch_size=25)
    left = {"x-ratelimit-limit-tokens": "120000", "x-ratelimit-remaining-tokens": "27600"}
    measured = {
        "start": stats(0, 0), "opened": stats(40, 40, items=1000, charged=100_000, **left),
        "closed": stats(80, 79, refused=1, items=1800, charged=180_000, **left),
        "window_s": 40.0, "left_at_open": 0.23, "settled": True, "seconds_to_window": 30.0,
    }  # fmt: skip
    section = run_section(config, measured, posts_in_window=760)
    # 100 tokens a post: 20 posts/s; 760 in 40 s is 19.
    assert section["ceiling_posts_per_s"] == 20.0
    assert section["fraction_of_ceiling"] == 0.95
    assert section["share_429"] == 0.0125
    assert section["window"]["posts_per_call"] == 20.51
    assert section["meets_targets"] is False  # 1.25 % of calls answered 429
    assert run_section(config, measured, posts_in_window=500)["fraction_of_ceiling"] == 0.625


def test_what_a_draining_reserve_gave_is_not_credited() -> None:
    """The window opened while the budget's reserve still drained: 12,000 tokens of it, 120
    posts at 100 tokens a post, 3 posts/s of the 40 s came from it and not from the limit."""
    config = RateBenchConfig(rpm=60, tpm=120_000, batch_size=25)

    def left(tokens: int) -> dict[str, str]:
        return {"x-ratelimit-limit-tokens": "120000", "x-ratelimit-remaining-tokens": str(tokens)}

    measured = {
        "start": stats(0, 0), "opened": stats(40, 40, items=1000, charged=100_000, **left(40_000)),
        "closed": stats(80, 80, items=1800, charged=180_000, **left(28_000)),
        "window_s": 40.0, "left_at_open": 0.33, "settled": True, "seconds_to_window": 30.0,
    }  # fmt: skip
    section = run_section(config, measured, posts_in_window=760)
    assert section["fraction_of_ceiling"] == 0.95
    assert section["window"]["reserve_spent_posts_per_s"] == 3.0
    assert section["fraction_of_ceiling_from_refill"] == 0.8
    assert section["meets_targets"] is False


# --- the command ---------------------------------------------------------------------------


@pytest.mark.broker
@pytest.mark.timeout(400)
def test_bench_ratelimit_one_worker(kafka_bootstrap: str, tmp_path: Path) -> None:
    env = {**os.environ, "STREAMS_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "bench", "ratelimit", "--workers", "1",
         "--window-s", "10", "--bootstrap", kafka_bootstrap],
        env=env, capture_output=True, text=True, timeout=360, check=False,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr[-3000:]
    report = json.loads(done.stdout)
    run = report["runs"]["1_workers"]
    assert run["calls"] > 10 and run["window"]["posts"] > 0
    assert run["answered_429"] == 0
    assert 0.5 < run["fraction_of_ceiling"] < 1.5
    assert report["config"]["latency_ms"] == 200.0  # the LLM-like default, not classify's 0
    assert Path(report["config"]["log_dir"], "worker-1-0.log").exists()
