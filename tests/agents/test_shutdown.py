"""SIGTERM: in-flight work is finished or abandoned within the configured time, never lost."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from kafka_io import corpus, create_topics, produce, produce_statuses, read_until

from streams.harvest.jsonl_sink import ReadReport, read_jsonl
from streams.testing.llm_server.process import LocalLLMProcess
from streams.testing.workers import WorkerProcess, as_env

pytestmark = pytest.mark.broker


@pytest.fixture
def env(
    worker_env: dict[str, str], tmp_path: Path
) -> dict[str, str]:
    env = {
        **worker_env,
        "STREAMS_HARVEST_DIR": str(tmp_path / "harvest"),
        "STREAMS_SHUTDOWN_TIMEOUT_S": "4",
    }  # fmt: skip
    create_topics(env)
    return env


def stop_and_time(worker: WorkerProcess) -> tuple[int, float]:
    assert worker.proc is not None
    started = time.monotonic()
    worker.signal(signal.SIGTERM)
    code = worker.proc.wait(timeout=60)
    return code, time.monotonic() - started


def test_sigterm_with_slow_llm_calls_in_flight(
    env: dict[str, str], tmp_path: Path, local_llm: Callable[..., LocalLLMProcess]
) -> None:
    posts = corpus(300, start=3_000_000)
    corrections = [
        {"correction_id": f"s{i}", "status_id": str(p["id"]), "feedback_type": "false_negative",
         "expected_categories": ["insult"], "source": "appeal",
         "timestamp": "2026-11-01T12:00:00Z"}
        for i, p in enumerate(posts[:100])
    ]  # fmt: skip
    bootstrap = env["STREAMS_KAFKA_BOOTSTRAP_SERVERS"]
    llm = local_llm(latency_ms=8000)
    env.update(as_env(llm.worker_fields(timeout_s=30)))
    produce_statuses(bootstrap, env["STREAMS_TOPIC_RAW"], posts)
    asyncio.run(produce(bootstrap, env["STREAMS_TOPIC_CORRECTIONS"], [
        (str(c["status_id"]).encode(), json.dumps(c).encode()) for c in corrections
    ]))  # fmt: skip
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    worker.wait_ready()
    # Wait until LLM calls are in flight (the local server has received some).
    deadline = time.monotonic() + 30
    while llm.stats()["requests"] == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)
    code, seconds = stop_and_time(worker)
    print(f"\nSIGTERM with slow LLM calls in flight: exit {code} after {seconds:.1f} s")
    assert code == 0, worker.log_tail()
    assert seconds < 4 + 6, "shutdown took longer than STREAMS_SHUTDOWN_TIMEOUT_S allows"

    for path in (tmp_path / "harvest").glob("harvest_*.jsonl"):
        report = ReadReport()
        list(read_jsonl(path, report))
        assert report.clean, f"{path}: {report}"

    # Nothing the stopped worker had not finished may be committed...
    committed = asyncio.run(committed_offsets(bootstrap, env["STREAMS_APP_ID"]))
    scored = asyncio.run(
        read_until(bootstrap, [env["STREAMS_TOPIC_SCORED"]], lambda rs: False, 3)
    )
    assert sum(committed.values()) <= len({r.key for r in scored})

    # ...and the restarted worker redoes the rest. It first restores the harvester's
    # tables from their changelogs, the start-up in which Faust used to drop the first
    # records it had fetched (streams.agents.flow_control).
    llm.set_faults(latency_ms=0)
    with WorkerProcess(env, tmp_path / "worker-2.log") as restarted:
        records = asyncio.run(read_until(
            bootstrap, [env["STREAMS_TOPIC_SCORED"], env["STREAMS_TOPIC_DLQ"]],
            lambda rs: len({r.key for r in rs}) >= len(posts), timeout_s=60,
        ))  # fmt: skip
        log = restarted.log_tail(10_000)
    done = {r.key for r in records}
    missing = [p["id"] for p in posts if str(p["id"]).encode() not in done]
    print(f"after the restart: {len(done)} of {len(posts)} posts scored or dead-lettered")
    assert not missing, f"never scored after the restart: {missing}\n{log}"
    assert "jumped from offset" not in log


def test_idle_worker_stops_promptly(env: dict[str, str], tmp_path: Path) -> None:
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    worker.wait_ready()
    code, seconds = stop_and_time(worker)
    print(f"\nSIGTERM when idle: exit {code} after {seconds:.1f} s")
    assert code == 0 and seconds < 10, worker.log_tail()


async def committed_offsets(bootstrap: str, group: str) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {f"{tp.topic}[{tp.partition}]": meta.offset for tp, meta in offsets.items()
            if "raw" in tp.topic and meta.offset > 0}  # fmt: skip
