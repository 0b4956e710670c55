"""``streams bench latency`` end to end on a real broker, small: the three phases run, nothing
is lost, and the report holds its figures and verdict."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.broker
@pytest.mark.timeout(180)
def test_bench_latency_small(kafka_bootstrap: str, tmp_path: Path) -> None:
    env = {**os.environ, "STREAMS_DATA_DIR": str(tmp_path / "data")}
    env.pop("STREAMS_BATCH_TIMEOUT_S", None)
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "bench", "latency", "--posts", "100",
         "--duration-s", "4", "--latency-ms", "200", "--bootstrap", kafka_bootstrap],
        env=env, capture_output=True, text=True, timeout=170, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["ok"] is True
    for phase in ("saturated", "half_load"):
        section = report[phase]
        assert section["lost"] == 0 and section["zero_scored_without_reply"] == 0, phase
        assert section["scored"] + section["dead_lettered"] == section["posts_in"], phase
    assert report["saturated"]["posts_in"] == 100
    assert report["max_posts_per_s"] > 0
    assert report["half_load"]["input_posts_per_s"] == pytest.approx(
        report["max_posts_per_s"] / 2, abs=0.1
    )
    # Every latency is at least the LLM's.
    assert report["half_load"]["latency_ms"]["p50"] >= 200
    assert report["target_p99_ms"] == 1000 + 200 + 250
    assert isinstance(report["meets_target"], bool)
    assert report["host"]["cpus"] == os.cpu_count()
    assert Path(report["config"]["log_dir"], "worker.log").exists()
