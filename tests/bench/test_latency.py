"""``streams bench latency``: its pure parts (the target, the load, the verdict)."""

from __future__ import annotations

import pytest

from streams.bench.latency import (
    LatencyConfig,
    half_load_rate,
    phase_summary,
    report,
    target_ms,
    throughput,
)
from streams.settings import Settings
from streams.testing.measure import Tally


def a_tally(latencies: tuple[float, ...], first: int = 1_000, last: int = 11_000,
            lost: int = 0) -> Tally:  # fmt: skip
    return Tally(
        posts_in=len(latencies) + lost, scored=len(latencies), dead_lettered=0, lost=lost,
        zero_scored_without_reply=0, duplicates=0, latencies_ms=latencies,
        first_output_ms=first, last_output_ms=last,
    )  # fmt: skip


def test_the_target_is_batch_timeout_plus_llm_latency_plus_250_ms() -> None:
    assert target_ms(1.0, 1000.0) == 2250.0
    assert target_ms(0.5, 0.0) == 750.0


def test_half_load_is_half_the_maximum_unless_a_rate_is_asked() -> None:
    assert half_load_rate(100.0, None) == 50.0
    assert half_load_rate(100.0, 80.0) == 80.0
    with pytest.raises(ValueError, match="no throughput"):
        half_load_rate(0.0, None)


def test_a_phase_drains_at_outputs_over_the_time_between_first_and_last() -> None:
    summary = phase_summary(a_tally(tuple(float(v) for v in range(1, 1002))))
    assert summary["output_posts_per_s"] == 100.0  # 1000 intervals in 10 s
    assert summary["latency_ms"]["p50"] == 501.0
    assert summary["latency_ms"]["p99"] == 991.0
    assert summary["latency_ms"]["max"] == 1001.0


def test_the_maximum_counts_from_the_first_post_in_to_the_last_out() -> None:
    # 100 posts in 4 waves of 25, 200 ms apart: out at 1.2, 1.4, 1.6 and 1.8 s.
    result = a_tally(tuple([200.0] * 100), first=1_200, last=1_800)
    assert throughput(result, first_in_ms=1_000) == 125.0
    assert phase_summary(result)["output_posts_per_s"] == 165.0  # what one wave less gives
    assert throughput(a_tally(()), first_in_ms=0) == 0.0


def test_the_verdict_compares_the_half_load_p99_with_the_target() -> None:
    settings = Settings(batch_timeout_s=1.0)
    config = LatencyConfig(latency_ms=1000.0)
    saturated = (a_tally(tuple([5_000.0] * 1001)), 100.0)
    fast = report(config, settings, saturated, a_tally(tuple([2_000.0] * 100)), 50.0, 10.0, {})
    assert fast["max_posts_per_s"] == 100.0 and fast["load_vs_max"] == 0.5
    assert fast["target_p99_ms"] == 2250.0 and fast["meets_target"] is True
    assert fast["ok"] is True
    slow = report(config, settings, saturated, a_tally(tuple([2_300.0] * 100)), 50.0, 10.0, {})
    assert slow["meets_target"] is False and slow["p99_vs_target"] > 1
    lost = report(config, settings, saturated, a_tally((1.0,), lost=1), 50.0, 10.0, {})
    assert lost["ok"] is False
