"""``streams bench classify``: its pure helpers, and the command end to end on a real broker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from lexicon_outputs import lexicon_outputs

from streams.bench.classify import BenchConfig, is_ok, ratio, resolve_bootstrap
from streams.categories import CATEGORIES
from streams.llm.lexicon import score_text
from streams.settings import Settings
from streams.testing.corpus import make_posts
from streams.testing.measure import Collected, Expected, llm_usage, percentile, run_summary, tally

# --- percentiles ---------------------------------------------------------------------------


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(100, 0, -1)]  # 1..100, unsorted
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7.0], 50) == percentile([7.0], 99) == 7.0
    assert percentile([1.0, 2.0], 50) == 1.0
    assert percentile([], 50) == 0.0


@pytest.mark.parametrize("q", [0, -1, 101])
def test_percentile_rejects_q_outside_0_100(q: float) -> None:
    with pytest.raises(ValueError):
        percentile([1.0], q)


# --- the posts -----------------------------------------------------------------------------


def test_posts_are_distinct_mixed_and_one_in_three_toxic() -> None:
    posts = make_posts(3000)
    assert len({p.status_id for p in posts}) == 3000
    assert len({p.parsed().text for p in posts}) == 3000
    assert {p.language for p in posts} == {"nl", "en"}
    assert sum(p.toxic for p in posts) == 1000
    assert make_posts(50) == make_posts(50)  # reproducible


def test_toxic_posts_score_and_benign_ones_do_not() -> None:
    for post in make_posts(600):
        scores = post.expected_scores()
        assert set(scores) == set(CATEGORIES)
        assert (max(scores.values()) > 0) == post.toxic, post.text


# --- measuring a run -----------------------------------------------------------------------


def test_tally_counts_lost_duplicates_dead_letters_and_wrong_scores() -> None:
    posts = make_posts(6)
    outputs = lexicon_outputs({p.status_id: p.value for p in posts})
    expected = {p.status_id: Expected(1_000, p.expected_scores()) for p in posts}
    zeroed = posts[3]  # toxic: its scores are not zero
    records = [
        Collected("scored", posts[0].key, outputs[posts[0].status_id], 1_500),
        Collected("scored", posts[0].key, outputs[posts[0].status_id], 1_900),  # duplicate
        Collected("scored", posts[1].key, outputs[posts[1].status_id], 1_200),
        Collected("dlq", posts[2].key, posts[2].value, 1_300),
        Collected("scored", zeroed.key, outputs[posts[1].status_id], 1_400),  # benign scores
        Collected("scored", b"not-ours", b"", 9_999),  # ignored
    ]
    result = tally(records, expected, "scored")
    assert (result.scored, result.dead_lettered, result.lost) == (3, 1, 2)
    assert result.duplicates == 1
    assert result.zero_scored_without_reply == 1
    assert sorted(result.latencies_ms) == [200.0, 300.0, 400.0, 500.0]
    assert (result.first_output_ms, result.last_output_ms) == (1_200, 1_500)

    summary = run_summary(result, started_ms=1_000)
    assert summary["wall_s"] == 0.5 and summary["posts_per_s"] == 8.0
    assert summary["startup_s"] == 0.2
    assert summary["latency_ms"]["p50"] == 300.0 and summary["latency_ms"]["p99"] == 500.0


def test_tally_of_nothing_loses_everything() -> None:
    expected = {"1": Expected(0, score_text("x"))}
    summary = run_summary(tally([], expected, "scored"), started_ms=0)
    assert summary["lost"] == 1 and summary["posts_per_s"] == 0.0


def test_llm_usage_is_the_difference_of_two_snapshots_per_post() -> None:
    before = {"requests": 5, "prompt_tokens": 1000, "completion_tokens": 50, "faults": {"x": 1}}
    after = {"requests": 9, "prompt_tokens": 5000, "completion_tokens": 250, "faults": {"x": 3}}
    usage = llm_usage(before, after, posts=100)
    assert usage["llm_calls"] == 4 and usage["posts_per_llm_call"] == 25.0
    assert usage["input_tokens_per_post"] == 40.0 and usage["output_tokens_per_post"] == 2.0
    assert usage["llm_faults_injected"] == 2


def test_ok_and_ratio() -> None:
    good = {"lost": 0, "zero_scored_without_reply": 0, "posts_per_s": 500.0}
    assert is_ok(good, None) and is_ok(good, good)
    assert not is_ok(good, {**good, "lost": 1})
    assert not is_ok({**good, "zero_scored_without_reply": 2}, None)
    assert ratio(good, {**good, "posts_per_s": 1000.0}) == 0.5
    assert ratio(good, None) is None


def test_bootstrap_comes_from_the_option_or_an_explicit_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("STREAMS_KAFKA_BOOTSTRAP_SERVERS", raising=False)
    assert resolve_bootstrap(None, Settings()) is None  # the default: launch a broker
    assert resolve_bootstrap("h:1", Settings()) == "h:1"
    assert resolve_bootstrap(None, Settings(kafka_bootstrap_servers="h:2")) == "h:2"
    monkeypatch.setenv("STREAMS_KAFKA_BOOTSTRAP_SERVERS", "h:3")
    assert resolve_bootstrap(None, Settings()) == "h:3"


def test_timeouts_grow_with_posts_and_latency() -> None:
    base = BenchConfig(posts=500)
    assert BenchConfig(posts=5000).timeout_s() > base.timeout_s()
    assert BenchConfig(posts=500, latency_ms=500).timeout_s() > base.timeout_s()
    assert BenchConfig(latency_ms=5000).llm_timeout_s() > BenchConfig().llm_timeout_s()


# --- the command ---------------------------------------------------------------------------


@pytest.mark.broker
@pytest.mark.timeout(600)
def test_bench_classify_500_posts(kafka_bootstrap: str, tmp_path: Path) -> None:
    env = {**os.environ, "STREAMS_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "bench", "classify", "--posts", "500",
         "--bootstrap", kafka_bootstrap],
        env=env, capture_output=True, text=True, timeout=540, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["ok"] is True
    for run in ("agent", "baseline"):
        section = report[run]
        assert section["lost"] == 0, run
        assert section["zero_scored_without_reply"] == 0, run
        assert section["scored"] + section["dead_lettered"] == 500, run
        assert section["llm_calls"] >= 500 / 25, run
    ratio = report["ratio_agent_vs_baseline_posts_per_s"]
    assert isinstance(ratio, float) and ratio > 0
    assert report["format"]["output_tokens_ratio_seed_vs_ours"] >= 3
    assert Path(report["config"]["log_dir"], "worker.log").exists()
