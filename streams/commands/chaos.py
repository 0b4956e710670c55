"""``streams chaos``: kill workers, bounce the broker, pause a worker, fault the LLM; then count
what was lost, wrongly scored or duplicated; prints one JSON object."""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import sys
import threading
from typing import Any

import click
import faust
from faust.cli import option

from streams.errors import StreamsError
from streams.settings import Settings


def register(app: faust.App, settings: Settings) -> None:
    @app.command(
        option("--posts", type=click.IntRange(min=1), default=20_000, help="Posts to send."),
        option("--corrections", type=click.IntRange(min=0), default=None,
               help="Corrections to send (default: posts/10), over posts/40 posts."),
        option("--kills", type=click.IntRange(min=0), default=0,
               help="Worker SIGKILLs at random moments, each followed by a restart."),
        option("--broker-bounces", type=click.IntRange(min=0), default=0,
               help="Broker stops and restarts on its port and data, SIGTERM and SIGKILL "
               "alternately."),
        option("--workers", type=click.IntRange(1, 2), default=1,
               help="Workers in the consumer group; with 2, one is killed and left down until "
               "the other has taken over."),
        option("--pause", is_flag=True,
               help="SIGSTOP a worker past the session timeout, then SIGCONT it."),
        option("--llm-fault-rate", type=click.FloatRange(0, 1), default=0.0,
               help="Share of LLM requests that get one of the local server's faults."),
        option("--seed", type=int, default=0, help="Seed of the posts, corrections and faults."),
        option("--timeout", type=click.FloatRange(min=1), default=900.0,
               help="Seconds the drain may take after the last wave."),
        option("--commit-interval", type=click.FloatRange(min=0.01), default=0.2,
               help="The workers' offset commit interval (STREAMS_BROKER_COMMIT_INTERVAL_S): "
               "what a SIGKILL can make them redo."),
    )  # fmt: skip
    async def chaos(
        self: object, posts: int, corrections: int | None, kills: int, broker_bounces: int,
        workers: int, pause: bool, llm_fault_rate: float, seed: int, timeout: float,
        commit_interval: float,
    ) -> None:  # fmt: skip
        """Run posts and corrections through the pipeline under faults; print one JSON object.

        \b
        Starts its own Kafka broker (so it can bounce it), the local LLM server and the
        workers, sends posts and corrections in waves and injects each fault while a wave is
        being handled. Then it waits until every post is scored or dead-lettered and the
        training export is complete (or --timeout), and checks:
        lost              posts neither scored nor dead-lettered: must be 0
        failure_zeroed    scored records whose scores are not the LLM's: must be 0
        duplicates        records beyond one per post: at most 2% of the posts
        export            the latest example per post on the training topic (and a line in
                          the JSONL files) equals the harvest policy's for the corrections
        takeover          with --workers 2, the survivor handled every post while the
                          killed worker was down
        Each fault lists the duplicates that followed it. Children's logs (broker, LLM
        server, every worker start) go to a temp dir named in the report.

        Exit status: 0 every guarantee held, 1 one was broken, 2 the run could not be made
        (no Java, no Kafka jars, a worker that would not start, ...), 130 interrupted
        (SIGINT or SIGTERM; what the run started is stopped first).
        """
        from streams.chaos.plan import MAX_DUPLICATES_PCT, ChaosConfig
        from streams.chaos.run import run_chaos

        config = ChaosConfig(
            posts=posts, corrections=corrections, kills=kills, broker_bounces=broker_bounces,
            workers=workers, pause=pause, llm_fault_rate=llm_fault_rate, seed=seed,
            timeout_s=timeout, commit_interval_s=commit_interval,
        )  # fmt: skip
        stop = threading.Event()
        try:
            report = await asyncio.to_thread(run_chaos, config, settings, stop)
        except asyncio.CancelledError:
            # SIGINT or SIGTERM: the run's thread stops what it started before the
            # process exits (the interpreter waits for it).
            stop.set()
            print("chaos: interrupted; stopping the broker, workers and LLM server",
                  file=sys.stderr)  # fmt: skip
            # The command runner exits 0 after a signal; an interrupted run proved nothing.
            # atexit runs after the interpreter has waited for the run's thread.
            atexit.register(_exit_interrupted)
            raise
        except StreamsError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)
        print(json.dumps(report, indent=2))
        if not report["ok"]:
            print(f"chaos: a guarantee broke: {_broken(report, MAX_DUPLICATES_PCT)}",
                  file=sys.stderr)  # fmt: skip
            sys.exit(1)


def _broken(report: dict[str, Any], max_duplicates_pct: float) -> str:
    counts, takeover = report["counts"], report["faults"]["takeover"]
    return (
        f"lost {counts['lost']}, failure_zeroed {counts['failure_zeroed']}, duplicates "
        f"{counts['duplicates_pct']}% (max {max_duplicates_pct}%), export mismatches "
        f"{counts['export_mismatches']}, JSONL missing {counts['jsonl_missing']}, takeover "
        f"{'n/a' if takeover is None else takeover['all_handled_while_down']}"
    )


def _exit_interrupted() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(130)
