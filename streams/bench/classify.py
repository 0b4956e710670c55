"""``streams bench classify``: the classifier agent against a plain aiokafka loop, same posts.

One run: a broker (given, or launched for the run), the local LLM server with the asked latency
and fault rate, and N distinct posts produced to a fresh raw topic. The agent run starts a real
worker process on them; the baseline run re-produces them to a second raw topic and scores them
in-process with a sequential consume -> classify -> produce (acks=all) -> commit loop over the
same backend class and ``Classifier``. Both are measured the same way, from the records they
publish; the report also compares the seed's prompt format with ours on a batch of the posts.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from streams.bench.baseline import (
    baseline_loop,
    collect,
    create_topics,
    delete_topics_under,
    now_ms,
    produce_posts,
)
from streams.bench.format_comparison import compare_formats
from streams.kafka.launcher import running_broker
from streams.llm.lexicon import score_text
from streams.llm.prompt import PostToScore
from streams.settings import Settings
from streams.testing.console import say
from streams.testing.corpus import BenchPost, make_posts
from streams.testing.llm_server.process import LocalLLMProcess, client_timeout_s
from streams.testing.measure import Expected, guarantees_held, llm_usage, run_summary, tally
from streams.testing.topics import RunTopics
from streams.testing.workers import WorkerProcess, worker_env

LLM_SEED: Final = 7
#: Our reply format must cost at least this many times fewer output tokens than the seed's.
FORMAT_TARGET: Final = 3.0
DUPLICATE_GRACE_S: Final = 2.0


@dataclass(frozen=True)
class BenchConfig:
    posts: int = 5000
    batch_size: int = 25
    latency_ms: float = 0.0
    fault_rate: float = 0.0
    partitions: int = 6
    #: None: launch a broker for the run.
    bootstrap: str | None = None
    skip_baseline: bool = False

    def timeout_s(self) -> float:
        """How long one run may take: generous, and longer with more posts or a slow LLM."""
        calls = self.posts / self.batch_size
        return 120 + self.posts * 0.05 + 2 * calls * self.latency_ms / 1000

    def llm_timeout_s(self) -> float:
        return client_timeout_s(self.latency_ms)


def resolve_bootstrap(option: str | None, settings: Settings) -> str | None:
    """The broker to use: --bootstrap, else STREAMS_KAFKA_BOOTSTRAP_SERVERS when the user set it;
    None means the benchmark launches its own."""
    if option:
        return option
    if "kafka_bootstrap_servers" in settings.model_fields_set:
        return settings.kafka_bootstrap_servers
    return None


def progress(message: str) -> None:
    say("bench", message)


def scoring_fields(config: BenchConfig, llm: LocalLLMProcess) -> dict[str, str]:
    """Settings both runs score with (the worker gets them as STREAMS_* variables)."""
    return {**llm.worker_fields(), "batch_size": str(config.batch_size)}


@dataclass(frozen=True)
class Run:
    """What a run needs besides its own topics."""

    config: BenchConfig
    bootstrap: str
    prefix: str
    posts: Sequence[BenchPost]
    llm: LocalLLMProcess
    scoring: Mapping[str, str]
    log_dir: Path

    def prepare(self, name: str) -> tuple[RunTopics, dict[str, Expected]]:
        """Create the run's topics and produce the posts to its raw topic."""
        topics = RunTopics.under(f"{self.prefix}.{name}")
        asyncio.run(create_topics(self.bootstrap, topics, self.config.partitions))
        produced = asyncio.run(produce_posts(self.bootstrap, topics.raw, self.posts))
        expected = {
            post.status_id: Expected(produced[post.status_id], post.expected_scores())
            for post in self.posts
        }
        return topics, expected


def run_agent(run: Run) -> dict[str, Any]:
    """The worker process on the posts, measured from its launch to the last post's output."""
    topics, expected = run.prepare("agent")
    env = worker_env(
        run.bootstrap, f"{run.prefix}.agent", run.log_dir / "worker-data", topics=topics,
        partitions=run.config.partitions, fields=run.scoring,
    )  # fmt: skip
    worker = WorkerProcess(env, run.log_dir / "worker.log")
    before = run.llm.stats()
    progress(f"agent: {len(expected)} posts on {topics.raw}, worker log {worker.log_path}")
    started_ms = now_ms()
    worker.start()
    try:
        records = asyncio.run(
            collect(
                run.bootstrap, topics, expected, timeout_s=run.config.timeout_s(),
                grace_s=DUPLICATE_GRACE_S,
                alive=lambda: worker.proc is not None and worker.proc.poll() is None,
            )
        )  # fmt: skip
        after = run.llm.stats()
    finally:
        exit_code = worker.stop()
    result = tally(records, expected, topics.scored)
    return {
        **run_summary(result, started_ms),
        **llm_usage(before, after, len(expected)),
        "worker_exit_code": exit_code,
    }


def run_baseline(run: Run) -> dict[str, Any]:
    """The plain aiokafka loop on the same posts, measured from its start to its last output."""
    topics, expected = run.prepare("baseline")
    settings = Settings.model_validate(run.scoring)
    before = run.llm.stats()
    progress(f"baseline: {len(expected)} posts on {topics.raw}")
    started_ms = now_ms()
    asyncio.run(
        baseline_loop(
            run.bootstrap, topics, settings, f"{run.prefix}.baseline", len(expected),
            run.config.timeout_s(),
        )
    )  # fmt: skip
    after = run.llm.stats()
    records = asyncio.run(
        collect(run.bootstrap, topics, expected, timeout_s=60, grace_s=DUPLICATE_GRACE_S)
    )
    result = tally(records, expected, topics.scored)
    return {**run_summary(result, started_ms), **llm_usage(before, after, len(expected))}


def format_section(posts: Sequence[BenchPost], batch_size: int) -> dict[str, Any]:
    """The seed's prompt and reply format against ours, for one batch of the posts."""
    sample = [p.parsed() for p in posts[:batch_size]]
    batch = [PostToScore(p.status_id, p.text, p.language) for p in sample]
    result = compare_formats(batch, [score_text(p.text) for p in batch])
    ours, seed = result.ours, result.seed
    ratio = seed.completion_tokens_per_post / ours.completion_tokens_per_post
    return {
        "batch_posts": len(batch),
        "toxic_posts_in_batch": sum(1 for p in posts[:batch_size] if p.toxic),
        "seed_system_prompt_tokens": seed.system_prompt_tokens,
        "our_system_prompt_tokens": ours.system_prompt_tokens,
        "seed_prompt_tokens": seed.prompt_tokens,
        "our_prompt_tokens": ours.prompt_tokens,
        "seed_output_tokens_per_post": round(seed.completion_tokens_per_post, 2),
        "our_output_tokens_per_post": round(ours.completion_tokens_per_post, 2),
        "output_tokens_ratio_seed_vs_ours": round(ratio, 2),
        "meets_target": ratio >= FORMAT_TARGET,
    }


def is_ok(*runs: Mapping[str, Any] | None) -> bool:
    """The delivery guarantees held in every run."""
    return all(
        guarantees_held(run["lost"], run["zero_scored_without_reply"])
        for run in runs
        if run is not None
    )


def ratio(agent: Mapping[str, Any], baseline: Mapping[str, Any] | None) -> float | None:
    if baseline is None or not baseline["posts_per_s"]:
        return None
    return round(float(agent["posts_per_s"]) / float(baseline["posts_per_s"]), 3)


def run_benchmark(config: BenchConfig, settings: Settings) -> dict[str, Any]:
    """Run everything and return the report; child processes are stopped whatever happens."""
    log_dir = Path(tempfile.mkdtemp(prefix="streams-bench-"))
    prefix = f"bench.{uuid.uuid4().hex[:8]}"
    posts = make_posts(config.posts)
    with ExitStack() as stack:
        bootstrap = config.bootstrap
        if bootstrap is None:
            progress("starting a Kafka broker for the run")
            broker = stack.enter_context(
                running_broker(cache_dir=settings.cache_dir, version=settings.kafka_version)
            )
            bootstrap = broker.bootstrap
        else:
            stack.callback(_drop_topics, bootstrap, prefix)
        llm = LocalLLMProcess(
            log_dir / "llm.log", fault_rate=config.fault_rate, latency_ms=config.latency_ms,
            seed=LLM_SEED,
        )  # fmt: skip
        stack.enter_context(llm)
        if config.fault_rate:  # a timeout fault need only outlast the client's timeout
            llm.set_faults(hang_s=config.llm_timeout_s() + 1)
        run = Run(config, bootstrap, prefix, posts, llm, scoring_fields(config, llm),
                  log_dir)  # fmt: skip
        agent = run_agent(run)
        baseline = None if config.skip_baseline else run_baseline(run)
    return {
        "config": {
            **asdict(config),
            "bootstrap": bootstrap,
            "broker": "given" if config.bootstrap else "launched",
            "max_batches_in_flight": settings.max_batches_in_flight,
            "batch_timeout_s": settings.batch_timeout_s,
            "cpus": os.cpu_count(),
            "topic_prefix": prefix,
            "log_dir": str(log_dir),
        },
        "agent": agent,
        "baseline": baseline,
        "ratio_agent_vs_baseline_posts_per_s": ratio(agent, baseline),
        "format": format_section(posts, config.batch_size),
        "ok": is_ok(agent, baseline),
    }


def _drop_topics(bootstrap: str, prefix: str) -> None:
    """Best effort: a given broker keeps none of the run's topics."""
    with contextlib.suppress(Exception):
        asyncio.run(delete_topics_under(bootstrap, prefix + "."))
