"""``streams bench harvester``: corrections/s through the harvester agent, against a plain
aiokafka consume-produce loop over the same records, in the same run.

The records: ``posts`` posts on the raw topic and ``corrections`` corrections spread evenly
over them (one in five carrying its post's text, as in ``streams chaos``), all produced before
either run starts, so each run reads a backlog as fast as it can.

agent     a worker process with only the harvester: texts kept, corrections merged, one
          training example per correction on the compacted training topic and in fsynced
          JSONL, each correction acked only after both
baseline  in-process: fetch up to 500 records of both topics -> produce every correction's
          bytes (acks=all) -> append them to a JSONL file and fsync -> commit

Both are timed from their first output record to the moment every correction is reflected
(for the agent: the first training record of each post equal to the harvest policy's result
for all its corrections; for the baseline: its last output record), from the records'
timestamps read back after the run, so reading them costs the runs nothing. The agent's
examples and JSONL lines are checked against the harvest policy.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pydantic import ValidationError

from streams.agents.harvest_io import harvester_group
from streams.bench.baseline import now_ms
from streams.bench.rig import (
    broker_for_run,
    cpu_seconds,
    create_run_topics,
    progress,
    start_worker,
    topic_partitions,
    wait_committed,
)
from streams.chaos.broker import produce_records
from streams.chaos.workload import (
    comparable,
    expected_examples,
    jsonl_missing,
    make_corrections,
)
from streams.harvest.jsonl_sink import read_jsonl
from streams.models.corrections import TrainingExample
from streams.settings import Settings
from streams.testing.corpus import make_posts
from streams.testing.topics import RunTopics

TARGET_PER_S: Final = 10_000.0
BASELINE_FETCH: Final = 500


@dataclass(frozen=True)
class HarvesterConfig:
    posts: int = 20_000
    corrections: int = 50_000
    partitions: int = 6
    bootstrap: str | None = None
    skip_baseline: bool = False

    def timeout_s(self) -> float:
        return 120 + self.corrections / 200


@dataclass(frozen=True)
class OutputRecord:
    key: str
    value: bytes | None
    timestamp_ms: int


def completion_ms(
    records: Sequence[OutputRecord], expected: Mapping[str, Mapping[str, Any]]
) -> tuple[int | None, list[str]]:
    """When the last post's example first equalled the expected one, and the posts whose
    example never did. ``records`` are in offset order per key."""
    done: dict[str, int] = {}
    for record in records:
        if record.key in done or record.key not in expected or record.value is None:
            continue
        try:
            got = comparable(TrainingExample.model_validate_json(record.value))
        except ValidationError:
            continue
        if got == expected[record.key]:
            done[record.key] = record.timestamp_ms
    missing = sorted(set(expected) - set(done))
    return (max(done.values()) if done else None), missing


def rate_section(
    corrections: int, started_ms: int, first_ms: int | None, done_ms: int | None,
    committed_ms: int | None,
) -> dict[str, Any]:  # fmt: skip
    """Corrections/s from the first output to the last correction reflected, and to the
    commit of every correction (their acks: examples on the topic and fsynced)."""

    def per_s(end: int | None) -> float | None:
        if first_ms is None or end is None or end <= first_ms:
            return None
        return round(corrections / ((end - first_ms) / 1000), 1)

    return {
        "corrections": corrections,
        "startup_s": round((first_ms - started_ms) / 1000, 3) if first_ms else None,
        "seconds": round((done_ms - first_ms) / 1000, 3) if first_ms and done_ms else None,
        "corrections_per_s": per_s(done_ms),
        "corrections_per_s_to_commit": per_s(committed_ms),
    }


def cpu_section(
    cpu_from: float | None, cpu_to: float | None, wall_s: float, corrections: int
) -> dict[str, float | None]:
    """The worker's CPU use from ready to all committed: whether it was CPU-bound (a share of
    one core near 1: the GIL keeps a worker on one core) and what a correction cost."""
    if cpu_from is None or cpu_to is None or wall_s <= 0:
        return {"worker_cpu_s": None, "worker_cpu_share_of_a_core": None,
                "worker_cpu_us_per_correction": None}  # fmt: skip
    used = cpu_to - cpu_from
    return {
        "worker_cpu_s": round(used, 2),
        "worker_cpu_share_of_a_core": round(used / wall_s, 2),
        "worker_cpu_us_per_correction": round(used / corrections * 1e6, 1),
    }


async def read_outputs(bootstrap: str, topic: str) -> list[OutputRecord]:
    """Every record of ``topic`` as of now, partition by partition in offset order."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = await topic_partitions(bootstrap, topic)
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        out: list[OutputRecord] = []
        remaining = {tp for tp in tps if end[tp] > 0}
        while remaining:
            for tp, batch in (await consumer.getmany(*remaining, timeout_ms=1000)).items():
                for r in batch:
                    out.append(OutputRecord((r.key or b"").decode(), r.value, r.timestamp))
                if batch and batch[-1].offset + 1 >= end[tp]:
                    remaining.discard(tp)
        return out
    finally:
        await consumer.stop()


async def baseline_loop(
    bootstrap: str, sources: Sequence[str], corrections_topic: str, out_topic: str,
    group: str, jsonl: Path, expected: int, timeout_s: float,
) -> None:  # fmt: skip
    """The plain loop: fetch, produce each correction's bytes, fsync them, commit."""
    consumer = AIOKafkaConsumer(
        *sources, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
        auto_offset_reset="earliest", max_poll_records=BASELINE_FETCH,
    )  # fmt: skip
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    fd = os.open(jsonl, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        await consumer.start()
        await producer.start()
        deadline, done = time.monotonic() + timeout_s, 0
        while done < expected and time.monotonic() < deadline:
            fetched = await consumer.getmany(timeout_ms=200, max_records=BASELINE_FETCH)
            batch = [r for rs in fetched.values() for r in rs if r.topic == corrections_topic]
            futures = [await producer.send(out_topic, key=r.key, value=r.value) for r in batch]
            await asyncio.gather(*futures)
            if batch:
                os.write(fd, b"".join((r.value or b"") + b"\n" for r in batch))
                os.fsync(fd)
            if fetched:
                await consumer.commit()
            done += len(batch)
    finally:
        os.close(fd)
        with contextlib.suppress(Exception):
            await producer.stop()
        with contextlib.suppress(Exception):
            await consumer.stop()


def run_agent(
    bootstrap: str, prefix: str, topics: RunTopics, config: HarvesterConfig, log_dir: Path,
    expected: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:  # fmt: skip
    """The harvester in a worker process on the backlog; its rate and what it wrote."""
    fields = {"classifier_enabled": "false", "text_wait_s": "600"}
    started_ms = now_ms()
    worker = start_worker(bootstrap, f"{prefix}.app", log_dir, topics, config.partitions,
                          fields, name="harvester")  # fmt: skip
    assert worker.proc is not None
    cpu_from, wall_from = cpu_seconds(worker.proc.pid), time.time()
    try:
        progress(f"agent: harvesting {config.corrections} corrections")
        committed = asyncio.run(
            wait_committed(
                bootstrap,
                harvester_group(f"{prefix}.app"),
                topics.corrections,
                config.timeout_s(),
            )
        )
        cpu_to, wall_to = cpu_seconds(worker.proc.pid), time.time()
    finally:
        exit_code = worker.stop()
    records = asyncio.run(read_outputs(bootstrap, topics.training))
    done_ms, wrong = completion_ms(records, expected)
    lines = [line for p in sorted((log_dir / "harvester-data").rglob("harvest_*.jsonl"))
             for line in read_jsonl(p)]  # fmt: skip
    first_ms = min((r.timestamp_ms for r in records), default=None)
    committed_ms = int(committed * 1000) if committed else None
    return {
        **rate_section(config.corrections, started_ms, first_ms, done_ms, committed_ms),
        **cpu_section(cpu_from, cpu_to, wall_to - wall_from, config.corrections),
        "training_records": len(records),
        "all_committed": committed is not None,
        "examples_wrong_or_missing": len(wrong),
        "examples_missing_from_jsonl": len(jsonl_missing(expected, lines)),
        "worker_exit_code": exit_code,
    }


def run_baseline(
    bootstrap: str, prefix: str, topics: RunTopics, config: HarvesterConfig, log_dir: Path
) -> dict[str, Any]:
    """The plain loop over the same records, measured the same way."""
    out_topic = f"{prefix}.baseline.out"
    create_run_topics(bootstrap, RunTopics.under(f"{prefix}.baseline"), config.partitions)
    progress(f"baseline: {config.corrections} corrections")
    started_ms = now_ms()
    asyncio.run(baseline_loop(
        bootstrap, [topics.raw, topics.corrections], topics.corrections, out_topic,
        f"{prefix}.baseline", log_dir / "baseline.jsonl", config.corrections, config.timeout_s(),
    ))  # fmt: skip
    committed_ms = now_ms()
    records = asyncio.run(read_outputs(bootstrap, out_topic))
    stamps = [r.timestamp_ms for r in records]
    section = rate_section(
        config.corrections, started_ms, min(stamps, default=None), max(stamps, default=None),
        committed_ms,
    )  # fmt: skip
    return {**section, "output_records": len(records)}


def run_harvester(config: HarvesterConfig, settings: Settings) -> dict[str, Any]:
    """Produce the backlog, run the agent, then the baseline; return the report."""
    log_dir = Path(tempfile.mkdtemp(prefix="streams-bench-harvester-"))
    prefix = f"bench.{uuid.uuid4().hex[:8]}"
    topics = RunTopics.under(prefix)
    posts = make_posts(config.posts)
    sent = make_corrections(posts, config.corrections, config.posts, [range(len(posts))], 0)
    expected = expected_examples(posts, sent)
    with broker_for_run(config.bootstrap, settings, prefix) as bootstrap:
        create_run_topics(bootstrap, topics, config.partitions)
        progress(f"producing {len(posts)} posts and {len(sent)} corrections")
        asyncio.run(produce_records(bootstrap, topics.raw, [(p.key, p.value) for p in posts]))
        asyncio.run(
            produce_records(bootstrap, topics.corrections, [(c.key, c.value) for c in sent])
        )
        agent = run_agent(bootstrap, prefix, topics, config, log_dir, expected)
        baseline = None
        if not config.skip_baseline:
            baseline = run_baseline(bootstrap, prefix, topics, config, log_dir)
    return report(config, agent, baseline, {
        "bootstrap": bootstrap, "log_dir": str(log_dir), "topic_prefix": prefix,
        "harvest_flush_interval_s": settings.harvest_flush_interval_s, "cpus": os.cpu_count(),
    })  # fmt: skip


def report(
    config: HarvesterConfig, agent: Mapping[str, Any], baseline: Mapping[str, Any] | None,
    run: Mapping[str, Any],
) -> dict[str, Any]:  # fmt: skip
    rate = agent["corrections_per_s"] or 0.0
    base_rate = baseline["corrections_per_s"] if baseline else None
    ok = (
        agent["all_committed"]
        and agent["examples_wrong_or_missing"] == 0
        and agent["examples_missing_from_jsonl"] == 0
    )
    return {
        "config": {**asdict(config), **run},
        "agent": dict(agent),
        "baseline": dict(baseline) if baseline else None,
        "ratio_agent_vs_baseline": round(rate / base_rate, 3) if base_rate else None,
        "target_corrections_per_s": TARGET_PER_S,
        "agent_vs_target": round(rate / TARGET_PER_S, 3),
        "meets_target": rate >= TARGET_PER_S,
        "ok": bool(ok),
    }
