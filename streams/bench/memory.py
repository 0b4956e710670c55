"""``streams bench memory``: a worker's resident memory at steady load.

One worker (classifier and harvester, as deployed) on a fresh set of topics, the local LLM
server, posts produced one by one at ``rate`` per second for ``duration_s``, and one correction
for every tenth post (after its post, so its text is known). The worker's ``VmRSS`` and
``VmHWM`` (peak) are read from ``/proc/PID/status`` every half second: idle after start, under
load, and a few seconds after. "Steady" is the median over the second half of the load; the
growth over that half, per minute and per thousand posts, shows whether memory levels off or
keeps rising with state (the harvester keeps up to ``STREAMS_TEXT_CACHE_SIZE`` post texts).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from streams.bench.baseline import collect
from streams.bench.rig import (
    broker_for_run,
    create_run_topics,
    produce_paced,
    progress,
    start_worker,
)
from streams.chaos.workload import SentCorrection, make_corrections
from streams.settings import Settings
from streams.testing.corpus import BenchPost, make_posts
from streams.testing.llm_server.process import LocalLLMProcess
from streams.testing.measure import Expected, guarantees_held, percentile, tally
from streams.testing.topics import RunTopics

TARGET_MB: Final = 300.0
#: One correction per this many posts, sent this many posts after its own.
CORRECTION_EVERY: Final = 10
SAMPLE_INTERVAL_S: Final = 0.5
IDLE_S: Final = 5.0
AFTER_S: Final = 5.0


@dataclass(frozen=True)
class MemoryConfig:
    rate: float = 100.0
    duration_s: float = 120.0
    latency_ms: float = 0.0
    batch_size: int = 25
    partitions: int = 6
    bootstrap: str | None = None


@dataclass(frozen=True)
class RssSample:
    #: Seconds since the sampler started.
    at_s: float
    rss_kib: int
    peak_kib: int


def parse_proc_status(text: str) -> tuple[int, int]:
    """``VmRSS`` and ``VmHWM`` (the peak RSS), in KiB, from the text of ``/proc/PID/status``."""
    fields = {}
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    if len(fields) != 2:
        raise ValueError("no VmRSS/VmHWM lines: is this /proc/PID/status of a live process?")
    return fields["VmRSS"], fields["VmHWM"]


class RssSampler:
    """Reads a process's memory every ``interval_s`` in a thread, until stopped or it exits."""

    def __init__(self, pid: int, interval_s: float = SAMPLE_INTERVAL_S) -> None:
        self.path = Path(f"/proc/{pid}/status")
        self.interval_s = interval_s
        self.samples: list[RssSample] = []
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def now_s(self) -> float:
        return time.monotonic() - self.started

    def start(self) -> RssSampler:
        self._thread.start()
        return self

    def stop(self) -> list[RssSample]:
        self._stop.set()
        self._thread.join()
        return self.samples

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                rss, peak = parse_proc_status(self.path.read_text())
            except (OSError, ValueError):
                return  # the process is gone
            self.samples.append(RssSample(round(self.now_s(), 3), rss, peak))
            self._stop.wait(self.interval_s)


def slope_per_s(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of ``(x, y)`` points; 0.0 with fewer than two distinct x."""
    if len(points) < 2:
        return 0.0
    mean_x = statistics.fmean(x for x, _ in points)
    mean_y = statistics.fmean(y for _, y in points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def _mb(kib: float) -> float:
    return round(kib / 1024, 1)


def summarize(
    samples: Sequence[RssSample], load_from_s: float, load_to_s: float, rate: float
) -> dict[str, Any]:
    """Idle, steady (median of the load's second half), peak and growth, in MB (MiB)."""
    if not samples:
        raise ValueError("no memory samples: the worker exited at once; see its log")
    idle = [s.rss_kib for s in samples if s.at_s < load_from_s] or [samples[0].rss_kib]
    half = (load_from_s + load_to_s) / 2
    second_half = [s for s in samples if half <= s.at_s <= load_to_s]
    during = [s for s in samples if load_from_s <= s.at_s <= load_to_s]
    steady = [s.rss_kib for s in second_half] or [samples[-1].rss_kib]
    growth_per_s = slope_per_s([(s.at_s, s.rss_kib) for s in second_half])
    return {
        "samples": len(samples),
        "idle_mb": _mb(statistics.median(idle)),
        "steady_mb": _mb(statistics.median(steady)),
        "load_max_mb": _mb(max((s.rss_kib for s in during), default=0)),
        "peak_mb": _mb(max(s.peak_kib for s in samples)),
        "end_mb": _mb(samples[-1].rss_kib),
        "growth_mb_per_min": round(growth_per_s * 60 / 1024, 2),
        "growth_kib_per_1000_posts": round(growth_per_s / rate * 1000, 1) if rate else None,
    }


def schedule(
    posts: Sequence[BenchPost], corrections: Sequence[SentCorrection], topics: RunTopics
) -> list[tuple[str, bytes, bytes]]:
    """Posts in order, each correction ``CORRECTION_EVERY - 1`` posts after its own post (or
    at the end), so its text is on the raw topic first."""
    index = {p.status_id: i for i, p in enumerate(posts)}
    after: dict[int, list[SentCorrection]] = {}
    for correction in corrections:
        slot = min(index[correction.status_id] + CORRECTION_EVERY - 1, len(posts) - 1)
        after.setdefault(slot, []).append(correction)
    records: list[tuple[str, bytes, bytes]] = []
    for i, post in enumerate(posts):
        records.append((topics.raw, post.key, post.value))
        records += [(topics.corrections, c.key, c.value) for c in after.get(i, [])]
    return records


@dataclass(frozen=True)
class _Measured:
    samples: list[RssSample]
    load_from_s: float
    load_to_s: float
    produced: dict[str, int]
    outputs: list[Any]
    exit_code: int
    bootstrap: str


def _load(
    config: MemoryConfig, settings: Settings, log_dir: Path, prefix: str,
    records: list[tuple[str, bytes, bytes]], posts: Sequence[BenchPost],
) -> _Measured:  # fmt: skip
    """Start the worker, sample it idle, load it, sample it after; stop everything."""
    topics = RunTopics.under(prefix)
    with (
        broker_for_run(config.bootstrap, settings, prefix) as bootstrap,
        LocalLLMProcess(log_dir / "llm.log", latency_ms=config.latency_ms) as llm,
    ):
        create_run_topics(bootstrap, topics, config.partitions)
        fields = {**llm.worker_fields(), "batch_size": config.batch_size}
        worker = start_worker(bootstrap, f"{prefix}.app", log_dir, topics, config.partitions,
                              fields)  # fmt: skip
        assert worker.proc is not None
        sampler = RssSampler(worker.proc.pid).start()
        try:
            time.sleep(IDLE_S)
            progress(f"load: {len(posts)} posts at {config.rate}/s, and corrections")
            load_from = sampler.now_s()

            async def load() -> tuple[list[int], list[Any]]:
                reading = asyncio.ensure_future(
                    collect(bootstrap, topics, [p.status_id for p in posts],
                            timeout_s=config.duration_s + 120, grace_s=1.0)
                )  # fmt: skip
                rate = config.rate * len(records) / len(posts)
                return await produce_paced(bootstrap, records, rate), await reading

            stamps, outputs = asyncio.run(load())
            load_to = sampler.now_s()
            time.sleep(AFTER_S)
        finally:
            samples = sampler.stop()
            exit_code = worker.stop()
    pairs = zip(records, stamps, strict=True)
    produced = {key.decode(): stamp for (topic, key, _), stamp in pairs if topic == topics.raw}
    return _Measured(samples, load_from, load_to, produced, outputs, exit_code, bootstrap)


def run_memory(config: MemoryConfig, settings: Settings) -> dict[str, Any]:
    """Load a worker and sample its memory; child processes are stopped whatever happens."""
    log_dir = Path(tempfile.mkdtemp(prefix="streams-bench-memory-"))
    prefix = f"bench.{uuid.uuid4().hex[:8]}"
    topics = RunTopics.under(prefix)
    posts = make_posts(max(1, int(config.rate * config.duration_s)))
    count = len(posts) // CORRECTION_EVERY
    corrections = make_corrections(posts, count, count, [range(len(posts))], seed=0)
    run = _load(config, settings, log_dir, prefix, schedule(posts, corrections, topics), posts)
    expected = {p.status_id: Expected(run.produced[p.status_id], p.expected_scores())
                for p in posts}  # fmt: skip
    result = tally(run.outputs, expected, topics.scored)
    memory = summarize(run.samples, run.load_from_s, run.load_to_s, config.rate)
    run_config = {
        **asdict(config),
        "corrections": count,
        "bootstrap": run.bootstrap,
        "log_dir": str(log_dir),
        "topic_prefix": prefix,
        "text_cache_size": settings.text_cache_size,
        "worker_exit_code": run.exit_code,
    }
    load = {
        "posts_in": result.posts_in,
        "scored": result.scored,
        "dead_lettered": result.dead_lettered,
        "lost": result.lost,
        "zero_scored_without_reply": result.zero_scored_without_reply,
        "p99_latency_ms": percentile(result.latencies_ms, 99),
        "seconds": round(run.load_to_s - run.load_from_s, 1),
    }
    return {
        "config": run_config,
        "load": load,
        "memory": memory,
        "target_mb": TARGET_MB,
        "peak_vs_target": round(memory["peak_mb"] / TARGET_MB, 3),
        "meets_target": memory["peak_mb"] <= TARGET_MB,
        "ok": guarantees_held(result.lost, result.zero_scored_without_reply),
    }
