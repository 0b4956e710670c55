"""``streams bench ratelimit``: how much of one shared rate limit 1 and 3 workers use, and how
many of their calls are answered 429.

One run per worker count, each from scratch: the local LLM server limited to R requests and
T tokens per minute for all its clients (its budget full at the start, as an account's is), a
fresh raw topic with more posts than the run can score, and that many worker processes in one
consumer group, each configured with the whole budget (``STREAMS_OPENAI_REQUESTS_PER_MINUTE=R``,
``..._TOKENS_PER_MINUTE=T``), as workers sharing an API key are.

A full budget lets a minute's worth through at once, so a rate over the whole run would say
more than the limit allows. Posts/s is measured in a window that opens once the server's
budget has stopped draining (what is left of it has moved less than ``SETTLED_WITHIN`` for
``SETTLED_FOR_S``), from the scored records' timestamps, against the ceiling the limits set:
min(T / (60 x tokens charged per post), R x batch size / 60), with the tokens the server
charged per post (prompt plus max_tokens) in the same window. What the budget's reserve still
paid for in the window is reported, and taken off for the verdict
(``fraction_of_ceiling_from_refill``). 429s are counted over the whole run, the full-budget
start included.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.bench.baseline import create_topics, delete_topics_under, produce_posts
from streams.errors import StreamsError
from streams.kafka.launcher import running_broker
from streams.llm.prompt import PostToScore, build_messages, max_output_tokens
from streams.llm.tokens import count_chat_tokens
from streams.scoring.rate_headers import read_budget
from streams.settings import Settings
from streams.testing.console import say
from streams.testing.corpus import BenchPost, make_posts
from streams.testing.llm_server.process import LocalLLMProcess
from streams.testing.topics import RunTopics
from streams.testing.workers import WorkerProcess, worker_env

#: The targets: this share of the ceiling used, at most this share of calls answered 429.
USE_TARGET: Final = 0.9
REFUSED_TARGET: Final = 0.01
SETTLED_WITHIN: Final = 0.05
SETTLED_FOR_S: Final = 10.0
_POLL_S: Final = 1.0
#: Seconds a worker may take to start and the budget to drain, beyond settling, when sizing
#: the posts of a run.
_STARTUP_S: Final = 60.0


@dataclass(frozen=True)
class RateBenchConfig:
    rpm: int = 60
    tpm: int = 120_000
    batch_size: int = 25
    latency_ms: float = 200.0
    window_s: float = 40.0
    #: The window opens after this long even if the budget has not settled (reported).
    settle_max_s: float = 60.0
    partitions: int = 6
    workers: tuple[int, ...] = (1, 3)
    #: None: launch a broker for the run.
    bootstrap: str | None = None
    #: Run the workers from this checkout (PYTHONPATH), e.g. the main branch, as a baseline.
    worker_code: str | None = None


def charged_tokens_per_post(posts: Sequence[BenchPost], batch_size: int) -> float:
    """What a full batch of ``posts`` costs against the TPM limit per post, before the run."""
    batch = [p.parsed() for p in posts[:batch_size]]
    request = build_messages([PostToScore(p.status_id, p.text, p.language) for p in batch])
    charged = count_chat_tokens(request.messages) + max_output_tokens(len(batch), structured=True)
    return charged / len(batch)


def ceiling_posts_per_s(rpm: float, tpm: float, batch_size: int, tokens_per_post: float) -> float:
    """The most posts/s the limits let through: min(T / (60 x tokens per post), R x batch / 60)."""
    return min(tpm / (60 * tokens_per_post), rpm * batch_size / 60)


def budget_left(stats: Mapping[str, Any]) -> float | None:
    """The smaller share left of the server's two budgets, from its ``/_stats``."""
    budget = read_budget(stats.get("budget") or {})
    shares = [b.fraction_left for b in (budget.requests, budget.tokens) if b is not None]
    return round(min(shares), 3) if shares else None


def has_settled(samples: Sequence[tuple[float, float]], now: float) -> bool:
    """Whether the budget left (``samples``: (time, share left)) has stayed within
    SETTLED_WITHIN for the last SETTLED_FOR_S."""
    if not samples or now - samples[0][0] < SETTLED_FOR_S:
        return False
    recent = [left for at, left in samples if at >= now - SETTLED_FOR_S]
    return max(recent) - min(recent) <= SETTLED_WITHIN


def calls_between(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """Calls answered and 429s among them, as the server counted between two ``/_stats``."""
    answered = {status: _delta(before, after, status) for status in after["by_status"]}
    calls, refused = sum(answered.values()), answered.get("429", 0)
    return {
        "calls": calls,
        "answered_429": refused,
        "share_429": round(refused / calls, 4) if calls else None,
        "other_errors": calls - refused - answered.get("200", 0),
    }


def run_section(
    config: RateBenchConfig, measured: Mapping[str, Any], posts_in_window: int
) -> dict[str, Any]:
    """One worker count's figures, from what the run recorded."""
    start, opened, closed = measured["start"], measured["opened"], measured["closed"]
    items = int(closed["items"]) - int(opened["items"])
    charged = int(closed["charged_tokens"]) - int(opened["charged_tokens"])
    per_post = charged / items if items else 0.0
    ceiling = (
        ceiling_posts_per_s(config.rpm, config.tpm, config.batch_size, per_post) if items else 0.0
    )
    window_s = measured["window_s"]
    rate = posts_in_window / window_s
    per_call = items / max(1, _delta(opened, closed, "200"))
    reserve = reserve_spent_posts(config, opened, closed, per_post, per_call) / window_s
    whole = calls_between(start, closed)
    fraction = rate / ceiling if ceiling else 0.0
    from_refill = (rate - reserve) / ceiling if ceiling else 0.0
    share_429 = whole["share_429"] or 0.0
    return {
        "posts_per_s": round(rate, 2),
        "ceiling_posts_per_s": round(ceiling, 2),
        "fraction_of_ceiling": round(fraction, 3),
        # Less what the budget's reserve gave (it drained in the window) or took (it grew).
        "fraction_of_ceiling_from_refill": round(from_refill, 3),
        **whole,
        "window": {
            "seconds": round(measured["window_s"], 1),
            "posts": posts_in_window,
            **calls_between(opened, closed),
            "charged_tokens_per_post": round(per_post, 1),
            "posts_per_call": round(per_call, 2),
            "reserve_spent_posts_per_s": round(reserve, 2),
            "budget_left_at_open": measured["left_at_open"],
            "budget_left_at_close": budget_left(closed),
        },
        "settled": measured["settled"],
        "seconds_to_window": round(measured["seconds_to_window"], 1),
        # A window that opened while the reserve still drained is not credited for it.
        "meets_targets": min(fraction, from_refill) >= USE_TARGET and share_429 <= REFUSED_TARGET,
    }


def reserve_spent_posts(
    config: RateBenchConfig, opened: Mapping[str, Any], closed: Mapping[str, Any],
    tokens_per_post: float, posts_per_call: float,
) -> float:  # fmt: skip
    """Posts the binding budget's reserve paid for between two ``/_stats`` (what was left of it
    went down; negative when it went up): what the window got beyond the limit's refill."""
    if not tokens_per_post:
        return 0.0
    before, after = read_budget(opened.get("budget")), read_budget(closed.get("budget"))
    tokens_bind = config.tpm / tokens_per_post <= config.rpm * config.batch_size
    if tokens_bind and before.tokens and after.tokens:
        return (before.tokens.remaining - after.tokens.remaining) / tokens_per_post
    if not tokens_bind and before.requests and after.requests:
        return (before.requests.remaining - after.requests.remaining) * posts_per_call
    return 0.0


def _delta(before: Mapping[str, Any], after: Mapping[str, Any], status: str) -> int:
    return int(after["by_status"].get(status, 0)) - int(before["by_status"].get(status, 0))


def progress(message: str) -> None:
    say("bench", message)


def posts_for(config: RateBenchConfig, tokens_per_post: float) -> int:
    """Enough posts that no worker runs out before the window closes: the start's minute of
    full budget, starting, settling and the window, all at the ceiling, and a fifth more."""
    ceiling = ceiling_posts_per_s(config.rpm, config.tpm, config.batch_size, tokens_per_post)
    seconds = 60 + _STARTUP_S + config.settle_max_s + config.window_s
    return int(ceiling * seconds * 1.2) + config.batch_size


async def output_times(
    bootstrap: str, topics: RunTopics, partitions: int
) -> list[tuple[str, int]]:
    """(topic, Kafka timestamp in ms) of every record now on the scored and dead-letter topics
    (created with ``partitions`` each)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for topic in (topics.scored, topics.dlq)
                 for p in range(partitions)]  # fmt: skip
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        found: list[tuple[str, int]] = []
        deadline = time.monotonic() + 60
        while [tp for tp in parts if await consumer.position(tp) < ends[tp]]:
            if time.monotonic() > deadline:
                raise TimeoutError("reading the run's scored records took over 60 s")
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                found.extend((r.topic, r.timestamp) for r in batch)
        return found
    finally:
        await consumer.stop()


def _check_alive(workers: Sequence[WorkerProcess]) -> None:
    for worker in workers:
        if worker.proc is not None and worker.proc.poll() is not None:
            raise StreamsError(
                f"a worker exited with code {worker.proc.returncode}; log: {worker.log_path}\n"
                + worker.log_tail()
            )


def observe(
    config: RateBenchConfig, llm: LocalLLMProcess, workers: Sequence[WorkerProcess]
) -> dict[str, Any]:
    """Wait for the first scored post, then for the budget to settle (or settle_max_s), then
    measure a window; the server's stats at each step."""
    start, began = llm.stats(), time.monotonic()
    while llm.stats()["items"] == int(start["items"]):
        _check_alive(workers)
        if time.monotonic() - began > _STARTUP_S:
            raise StreamsError(f"no post scored {_STARTUP_S:.0f} s after the workers started")
        time.sleep(_POLL_S / 4)
    first = time.monotonic()
    samples: list[tuple[float, float]] = []
    while not has_settled(samples, now := time.monotonic()) and now - first < config.settle_max_s:
        _check_alive(workers)
        left = budget_left(llm.stats())
        if left is not None:
            samples.append((now, left))
        time.sleep(_POLL_S)
    opened, opened_ms, opened_at = llm.stats(), time.time() * 1000, time.monotonic()
    while time.monotonic() - opened_at < config.window_s:
        _check_alive(workers)
        time.sleep(_POLL_S)
    closed, closed_ms = llm.stats(), time.time() * 1000
    return {
        "start": start, "opened": opened, "closed": closed,
        "window_s": (closed_ms - opened_ms) / 1000, "window_ms": (opened_ms, closed_ms),
        "left_at_open": budget_left(opened), "settled": has_settled(samples, opened_at),
        "seconds_to_window": opened_at - began,
    }  # fmt: skip


def measure_workers(
    config: RateBenchConfig, bootstrap: str, prefix: str, log_dir: Path, count: int
) -> dict[str, Any]:
    """One run: ``count`` workers in one group against a fresh limited server and topic."""
    name = f"{prefix}.w{count}"
    sample = make_posts(config.batch_size)
    posts = make_posts(posts_for(config, charged_tokens_per_post(sample, config.batch_size)))
    topics = RunTopics.under(name)
    asyncio.run(create_topics(bootstrap, topics, config.partitions))
    asyncio.run(produce_posts(bootstrap, topics.raw, posts))
    llm = LocalLLMProcess(
        log_dir / f"llm-{count}.log", latency_ms=config.latency_ms, rpm_limit=config.rpm,
        tpm_limit=config.tpm,
    )  # fmt: skip
    with llm, ExitStack() as stack:
        fields = {
            **llm.worker_fields(), "batch_size": config.batch_size,
            # Each worker is given the whole account's budget, as workers sharing a key are.
            "openai_requests_per_minute": config.rpm, "openai_tokens_per_minute": config.tpm,
        }  # fmt: skip
        workers = []
        for number in range(count):
            env = worker_env(bootstrap, name, log_dir / f"w{count}-{number}", topics=topics,
                             partitions=config.partitions, fields=fields)  # fmt: skip
            if config.worker_code:
                # PYTHONSAFEPATH: or ``python -m`` would import the current directory's first.
                env.update(PYTHONPATH=config.worker_code, PYTHONSAFEPATH="1")
            workers.append(WorkerProcess(env, log_dir / f"worker-{count}-{number}.log"))
        progress(f"{count} worker(s): {len(posts)} posts on {topics.raw}, logs in {log_dir}")
        for worker in workers:
            stack.callback(worker.stop)
            worker.start()
        measured = observe(config, llm, workers)
    records = asyncio.run(output_times(bootstrap, topics, config.partitions))
    opened_ms, closed_ms = measured["window_ms"]
    in_window = [topic for topic, at in records if opened_ms <= at < closed_ms]
    section = run_section(config, measured, in_window.count(topics.scored))
    section["window"]["dead_lettered"] = len(in_window) - in_window.count(topics.scored)
    return section


def run_benchmark(config: RateBenchConfig, settings: Settings) -> dict[str, Any]:
    """Every worker count in turn; child processes are stopped whatever happens."""
    log_dir = Path(tempfile.mkdtemp(prefix="streams-bench-ratelimit-"))
    prefix = f"bench.{uuid.uuid4().hex[:8]}"
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
        runs = {
            f"{count}_workers": measure_workers(config, bootstrap, prefix, log_dir, count)
            for count in config.workers
        }
    return {
        "config": {
            **asdict(config), "bootstrap": bootstrap,
            "broker": "given" if config.bootstrap else "launched",
            "max_batches_in_flight": settings.max_batches_in_flight, "cpus": os.cpu_count(),
            "topic_prefix": prefix, "log_dir": str(log_dir),
        },
        "targets": {"fraction_of_ceiling": USE_TARGET, "share_429": REFUSED_TARGET},
        "runs": runs,
        "ok": all(run["meets_targets"] for run in runs.values()),
    }  # fmt: skip


def _drop_topics(bootstrap: str, prefix: str) -> None:
    """Best effort: a given broker keeps none of the run's topics."""
    with contextlib.suppress(Exception):
        asyncio.run(delete_topics_under(bootstrap, prefix + "."))
