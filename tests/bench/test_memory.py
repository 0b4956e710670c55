"""``streams bench memory``: reading /proc, summarising the samples, scheduling the load."""

from __future__ import annotations

import os
import time

import pytest

from streams.bench.memory import (
    CORRECTION_EVERY,
    RssSample,
    RssSampler,
    parse_proc_status,
    schedule,
    slope_per_s,
    summarize,
)
from streams.chaos.workload import make_corrections
from streams.testing.corpus import make_posts
from streams.testing.topics import RunTopics

STATUS = """Name:\tpython
VmPeak:\t  900000 kB
VmHWM:\t  204800 kB
VmRSS:\t  102400 kB
Threads:\t4
"""


def test_rss_and_peak_come_from_vmrss_and_vmhwm() -> None:
    assert parse_proc_status(STATUS) == (102400, 204800)
    with pytest.raises(ValueError, match="VmRSS"):
        parse_proc_status("Name:\tzombie\n")


def test_the_sampler_reads_a_live_process() -> None:
    sampler = RssSampler(os.getpid(), interval_s=0.01).start()
    deadline = time.monotonic() + 5
    while len(sampler.samples) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    samples = sampler.stop()
    assert len(samples) >= 3
    assert all(s.rss_kib > 1000 and s.peak_kib >= s.rss_kib for s in samples)


def test_slope_is_least_squares() -> None:
    assert slope_per_s([(0, 1), (1, 3), (2, 5)]) == pytest.approx(2.0)
    assert slope_per_s([(0, 1)]) == 0.0
    assert slope_per_s([(1, 1), (1, 5)]) == 0.0


def test_summary_separates_idle_steady_peak_and_growth() -> None:
    # Idle at 100 MiB for 10 s, then load from 10 s to 70 s rising 1 MiB a second to 160.
    samples = [RssSample(float(t), 100 * 1024, 100 * 1024) for t in range(10)]
    samples += [RssSample(float(t), (100 + t - 10) * 1024, (100 + t - 10) * 1024)
                for t in range(10, 71)]  # fmt: skip
    samples.append(RssSample(75.0, 150 * 1024, 160 * 1024))
    summary = summarize(samples, 10.0, 70.0, rate=100.0)
    assert summary["idle_mb"] == 100.0
    assert summary["steady_mb"] == 145.0  # the median of 40..70 s
    assert summary["peak_mb"] == 160.0 and summary["load_max_mb"] == 160.0
    assert summary["end_mb"] == 150.0
    assert summary["growth_mb_per_min"] == 60.0
    assert summary["growth_kib_per_1000_posts"] == 10240.0  # 1 MiB/s at 100 posts/s
    with pytest.raises(ValueError, match="no memory samples"):
        summarize([], 0.0, 1.0, 1.0)


def test_each_correction_follows_its_post_by_some_posts() -> None:
    posts = make_posts(40)
    corrections = make_corrections(posts, 4, 4, [range(40)], seed=0)
    topics = RunTopics.under("t")
    records = schedule(posts, corrections, topics)
    assert len(records) == 44
    raw = [key for topic, key, _ in records if topic == topics.raw]
    assert raw == [p.key for p in posts]
    for correction in corrections:
        at = records.index((topics.corrections, correction.key, correction.value))
        post_at = records.index((topics.raw, correction.key, next(
            p.value for p in posts if p.key == correction.key)))  # fmt: skip
        posts_between = sum(1 for t, _, _ in records[post_at + 1 : at] if t == topics.raw)
        assert posts_between == min(CORRECTION_EVERY - 1, 39 - raw.index(correction.key))
