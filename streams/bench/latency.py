"""``streams bench latency``: end-to-end latency of a worker at half of its maximum throughput.

One worker (classifier and harvester, as deployed) on a fresh set of topics, the local LLM
server answering after ``latency_ms``. Three phases, in the same run and the same process:

warm-up    two batches of posts, so partitions are assigned and the LLM client is connected
saturated  a burst of posts produced at once: posts over the time from the first produced to
           the last scored is the maximum throughput
half load  posts produced one by one at a steady pace of half that rate (or ``--rate``)

Latency is each post's producer timestamp to its scored record's broker timestamp: the scored
topic of the run stamps records when it appends them (LogAppendTime), which on one broker is
when it acknowledges them. The target is batch timeout + LLM latency + 250 ms at p99.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from streams.bench.baseline import collect, now_ms, produce_posts
from streams.bench.rig import (
    broker_for_run,
    create_run_topics,
    produce_paced,
    progress,
    start_worker,
)
from streams.settings import Settings
from streams.testing.corpus import BenchPost, make_posts
from streams.testing.llm_server.process import LocalLLMProcess
from streams.testing.measure import Expected, Tally, guarantees_held, percentile, tally
from streams.testing.topics import RunTopics
from streams.testing.workers import WorkerProcess

#: What the p99 may add to batch timeout + LLM latency: the pipeline's own time.
OVERHEAD_BUDGET_MS: Final = 250.0
GRACE_S: Final = 2.0


@dataclass(frozen=True)
class LatencyConfig:
    burst_posts: int = 3000
    duration_s: float = 60.0
    #: Posts/s of the half-load phase; None: half the measured maximum.
    rate: float | None = None
    latency_ms: float = 1000.0
    batch_size: int = 25
    partitions: int = 6
    bootstrap: str | None = None


def target_ms(batch_timeout_s: float, latency_ms: float) -> float:
    """The p99 end-to-end latency to stay under: a batch may wait its timeout to fill, then
    the LLM answers; the pipeline may add 250 ms."""
    return batch_timeout_s * 1000 + latency_ms + OVERHEAD_BUDGET_MS


def half_load_rate(max_posts_per_s: float, asked: float | None) -> float:
    """The steady phase's rate: the one asked for, else half the maximum."""
    if asked is not None:
        return asked
    if max_posts_per_s <= 0:
        raise ValueError("the saturated phase measured no throughput; see the worker's log")
    return max_posts_per_s / 2


def latency_section(result: Tally) -> dict[str, float]:
    values = result.latencies_ms
    return {
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": max(values, default=0.0),
    }


def throughput(result: Tally, first_in_ms: int) -> float:
    """Posts handled per second from the first post produced to the last output.

    The maximum is read this way rather than from the outputs alone: with a few batches in
    flight, outputs come in waves, and first-to-last output leaves out one wave, overstating a
    short burst's rate by up to a factor of two.
    """
    seconds = (result.last_output_ms - first_in_ms) / 1000
    return round(result.handled / seconds, 1) if result.handled and seconds > 0 else 0.0


def phase_summary(result: Tally) -> dict[str, Any]:
    """Counts, latencies and the drain rate of one phase (first output to last)."""
    steady_s = (result.last_output_ms - result.first_output_ms) / 1000
    rate = (result.handled - 1) / steady_s if steady_s > 0 and result.handled > 1 else 0.0
    return {
        "posts_in": result.posts_in,
        "scored": result.scored,
        "dead_lettered": result.dead_lettered,
        "lost": result.lost,
        "zero_scored_without_reply": result.zero_scored_without_reply,
        "duplicates": result.duplicates,
        "output_posts_per_s": round(rate, 1),
        "latency_ms": latency_section(result),
    }


@dataclass(frozen=True)
class _Run:
    bootstrap: str
    topics: RunTopics
    worker: WorkerProcess

    def alive(self) -> bool:
        return self.worker.proc is not None and self.worker.proc.poll() is None

    def burst(self, posts: Sequence[BenchPost], timeout_s: float) -> tuple[Tally, float]:
        """Produce ``posts`` at once, wait for every one's output; the tally and throughput."""
        produced = asyncio.run(produce_posts(self.bootstrap, self.topics.raw, posts))
        result = self._tally(posts, produced, timeout_s)
        return result, throughput(result, min(produced.values()))

    def steady(self, posts: Sequence[BenchPost], rate: float, timeout_s: float) -> Tally:
        """Produce ``posts`` at ``rate`` per second while reading their outputs."""

        async def both() -> tuple[list[int], list[Any]]:
            reading = asyncio.ensure_future(
                collect(self.bootstrap, self.topics, [p.status_id for p in posts],
                        timeout_s=timeout_s, grace_s=GRACE_S, alive=self.alive)
            )  # fmt: skip
            records = [(self.topics.raw, p.key, p.value) for p in posts]
            stamps = await produce_paced(self.bootstrap, records, rate)
            return stamps, await reading

        stamps, records = asyncio.run(both())
        produced = {p.status_id: stamp for p, stamp in zip(posts, stamps, strict=True)}
        return tally(records, _expected(posts, produced), self.topics.scored)

    def _tally(self, posts: Sequence[BenchPost], produced: Mapping[str, int], timeout_s: float
               ) -> Tally:  # fmt: skip
        records = asyncio.run(
            collect(self.bootstrap, self.topics, list(produced), timeout_s=timeout_s,
                    grace_s=GRACE_S, alive=self.alive)
        )  # fmt: skip
        return tally(records, _expected(posts, produced), self.topics.scored)


def _expected(posts: Sequence[BenchPost], produced: Mapping[str, int]) -> dict[str, Expected]:
    return {p.status_id: Expected(produced[p.status_id], p.expected_scores()) for p in posts}


def run_latency(config: LatencyConfig, settings: Settings) -> dict[str, Any]:
    """Run the three phases and return the report; child processes are stopped whatever
    happens."""
    log_dir = Path(tempfile.mkdtemp(prefix="streams-bench-latency-"))
    prefix = f"bench.{uuid.uuid4().hex[:8]}"
    topics = RunTopics.under(prefix)
    warm_n = 2 * config.batch_size
    posts = make_posts(warm_n + config.burst_posts)
    warm, burst = posts[:warm_n], posts[warm_n : warm_n + config.burst_posts]
    with (
        broker_for_run(config.bootstrap, settings, prefix) as bootstrap,
        LocalLLMProcess(log_dir / "llm.log", latency_ms=config.latency_ms) as llm,
    ):
        create_run_topics(bootstrap, topics, config.partitions, scored_append_time=True)
        fields = {**llm.worker_fields(), "batch_size": config.batch_size,
                  "batch_timeout_s": settings.batch_timeout_s}  # fmt: skip
        worker = start_worker(bootstrap, f"{prefix}.app", log_dir, topics, config.partitions,
                              fields)  # fmt: skip
        try:
            run = _Run(bootstrap, topics, worker)
            progress(f"warm-up: {len(warm)} posts")
            run.burst(warm, timeout_s=120)
            progress(f"saturated: {len(burst)} posts at once")
            saturated, max_rate = run.burst(burst, timeout_s=120 + len(burst) * 0.1)
            rate = half_load_rate(max_rate, config.rate)
            count = max(1, int(rate * config.duration_s))
            # The same seed makes the same first posts: the steady ones follow the burst's.
            steady_posts = make_posts(len(posts) + count)[len(posts) :]
            progress(f"half load: {count} posts at {rate:.1f}/s (maximum {max_rate}/s)")
            started_ms = now_ms()
            steady = run.steady(steady_posts, rate, timeout_s=config.duration_s + 120)
            steady_wall_s = (now_ms() - started_ms) / 1000
        finally:
            exit_code = worker.stop()
    return report(config, settings, (saturated, max_rate), steady, rate, steady_wall_s, {
        "worker_exit_code": exit_code, "log_dir": str(log_dir), "topic_prefix": prefix,
        "bootstrap": bootstrap,
    })  # fmt: skip


def report(
    config: LatencyConfig, settings: Settings, saturated_phase: tuple[Tally, float],
    steady: Tally, rate: float, steady_wall_s: float, run: Mapping[str, Any],
) -> dict[str, Any]:  # fmt: skip
    """The JSON object: both phases, the ratio of the load to the maximum, the verdict."""
    saturated, max_rate = saturated_phase
    target = target_ms(settings.batch_timeout_s, config.latency_ms)
    p99 = percentile(steady.latencies_ms, 99)
    held = all(guarantees_held(t.lost, t.zero_scored_without_reply) for t in (saturated, steady))
    config_section = {
        **asdict(config),
        "batch_timeout_s": settings.batch_timeout_s,
        "max_batches_in_flight": settings.max_batches_in_flight,
        **run,
    }
    return {
        "config": config_section,
        "saturated": {**phase_summary(saturated), "posts_per_s": max_rate},
        "max_posts_per_s": max_rate,
        "half_load": {
            **phase_summary(steady),
            "input_posts_per_s": round(rate, 1),
            "wall_s": round(steady_wall_s, 3),
        },
        "load_vs_max": round(rate / max_rate, 3) if max_rate else None,
        "target_p99_ms": target,
        "p99_vs_target": round(p99 / target, 3),
        "meets_target": p99 <= target,
        "ok": held,
    }
