"""LLM outages through the real broker, real worker processes and the local LLM server: the
classifier pauses reading instead of dead-lettering, says why on /metrics, and scores every
post once the endpoint answers again; a rebalance meanwhile does not wait for the LLM."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from kafka_io import Read, corpus, create_topics, produce_statuses, read_until
from prometheus_client.parser import text_string_to_metric_families

from streams.kafka.launcher import free_port
from streams.llm.lexicon import score_text
from streams.models.scored import ScoredStatus
from streams.models.status import StatusToScore, parse_raw_record
from streams.testing.llm_server.process import LocalLLMProcess
from streams.testing.topics import RunTopics
from streams.testing.workers import WorkerProcess, as_env

pytestmark = pytest.mark.broker

#: The issue's outage: the local server answers 503 for a minute in the middle of the run.
OUTAGE_S = 60.0
PARTITIONS = 3


def outage_env(worker_env: dict[str, str], llm: LocalLLMProcess) -> dict[str, str]:
    return {
        **worker_env,
        **as_env(llm.worker_fields(timeout_s=2)),
        # Probe often, so the run resumes within seconds of the endpoint's return.
        **as_env({"llm_probe_backoff_s": 0.5, "llm_probe_backoff_max_s": 4}),
    }


def scrape(worker: WorkerProcess) -> dict[str, float]:
    """The worker's LLM availability gauges: ``available`` and one entry per reason."""
    with urllib.request.urlopen(worker.web_url + "/metrics", timeout=5) as response:
        text = response.read().decode()
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "streams_llm_available":
                values["available"] = sample.value
            elif sample.name == "streams_llm_unavailable":
                values[sample.labels["reason"]] = sample.value
    return values


async def group_lag(
    admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer, group: str, topic: str
) -> int:
    """Records of ``topic`` past the group's committed offsets: the lag as Kafka sees it."""
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    end = await consumer.end_offsets(tps)
    committed = await admin.list_consumer_group_offsets(group, partitions=tps)
    return sum(end[tp] - max(0, committed[tp].offset if tp in committed else 0) for tp in tps)


@dataclass
class Run:
    """Posts produced at a steady rate, and the lag and the worker's gauges sampled once a
    second, by a background thread, while the test stages the outage."""

    bootstrap: str
    group: str
    topic: str
    statuses: list[dict[str, object]]
    per_second: float
    worker: WorkerProcess
    lag: list[tuple[float, int]] = field(default_factory=list)
    gauges: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    produced: int = 0
    error: BaseException | None = None
    stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> Run:
        threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True).start()
        return self

    async def _main(self) -> None:
        try:
            await asyncio.gather(self._produce(), self._sample())
        except BaseException as exc:
            self.error = exc

    async def _produce(self) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        await producer.start()
        try:
            started = time.monotonic()
            for i, post in enumerate(self.statuses):
                await asyncio.sleep(max(0.0, started + i / self.per_second - time.monotonic()))
                await producer.send(self.topic, json.dumps(post).encode(), str(post["id"]).encode())
                self.produced += 1
            await producer.flush()
        finally:
            await producer.stop()

    async def _sample(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap)
        await admin.start()
        await consumer.start()
        try:
            while not self.stop.is_set():
                now = time.monotonic()
                lag = await group_lag(admin, consumer, self.group, self.topic)
                self.lag.append((now, lag))
                self.gauges.append((now, await asyncio.to_thread(scrape, self.worker)))
                await asyncio.sleep(max(0.0, now + 1 - time.monotonic()))
        finally:
            await consumer.stop()
            await admin.close()


def scored_and_dead(
    records: list[Read], topics: RunTopics
) -> tuple[dict[str, bytes], Counter[str]]:
    scored: dict[str, bytes] = {}
    dead: Counter[str] = Counter()
    for record in records:
        key = (record.key or b"").decode()
        if record.topic == topics.scored and record.value:
            scored[key] = record.value
        elif record.topic == topics.dlq:
            dead[key] += 1
    return scored, dead


def assert_scored_by_the_llm(scored: dict[str, bytes], statuses: list[dict[str, object]]) -> None:
    wrong = []
    for post in statuses:
        status_id = str(post["id"])
        parsed = parse_raw_record(status_id.encode(), json.dumps(post).encode())
        assert isinstance(parsed, StatusToScore)
        if ScoredStatus.model_validate_json(scored[status_id]).scores.as_dict() != score_text(
            parsed.text
        ):
            wrong.append(status_id)
    assert wrong == [], "posts published with scores the LLM did not give"


@pytest.fixture
def started(
    worker_env: dict[str, str], tmp_path: Path, local_llm: Callable[..., LocalLLMProcess]
) -> Iterator[tuple[LocalLLMProcess, WorkerProcess, dict[str, str]]]:
    llm = local_llm()
    env = outage_env(worker_env, llm)
    create_topics(env)
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        worker.wait_ready(path="/metrics")
        yield llm, worker, env
    finally:
        worker.stop()


def test_a_minute_of_503s_pauses_reading_and_dead_letters_nothing(
    started: tuple[LocalLLMProcess, WorkerProcess, dict[str, str]], run_topics: RunTopics
) -> None:
    llm, worker, env = started
    bootstrap, group = env["STREAMS_KAFKA_BOOTSTRAP_SERVERS"], env["STREAMS_APP_ID"]
    statuses = corpus(2000, start=5_000_000)
    # 25 posts a second for 80 s; the outage runs from 10 s to 70 s.
    run = Run(bootstrap, group, run_topics.raw, statuses, 25.0, worker).start()
    time.sleep(10)
    llm.start_outage(OUTAGE_S)
    outage_start = time.monotonic()
    outage_end = outage_start + OUTAGE_S
    time.sleep(OUTAGE_S)
    records = asyncio.run(
        read_until(
            bootstrap, [run_topics.scored, run_topics.dlq],
            lambda rs: len({r.key for r in rs}) >= len(statuses), timeout_s=120,
        )
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while (not run.lag or run.lag[-1][1] > 0) and time.monotonic() < deadline:
        time.sleep(1)
    run.stop.set()
    time.sleep(1.5)
    assert run.error is None, run.error
    assert run.produced == len(statuses)

    scored, dead = scored_and_dead(records, run_topics)
    during = [lag for t, lag in run.lag if outage_start <= t <= outage_end]
    before = [lag for t, lag in run.lag if t < outage_start]
    drained = next((t - outage_end for t, lag in run.lag if t > outage_end and lag <= 25), None)
    paused = [g for t, g in run.gauges if outage_start + 10 <= t <= outage_end]
    stats = llm.stats()
    print(
        f"\noutage of {OUTAGE_S:.0f} s: lag before {max(before, default=0)}, peak "
        f"{max(during)}, back under a batch {drained:.1f} s after the outage ended, "
        f"{len(scored)} of {len(statuses)} scored, dead letters {sum(dead.values())}, "
        f"LLM requests {stats['requests']} (by status {stats['by_status']})"
    )
    assert sum(dead.values()) == 0, f"dead letters during an outage: {dead}"
    assert set(scored) == {str(s["id"]) for s in statuses}
    assert_scored_by_the_llm(scored, statuses)
    assert max(during) >= 0.7 * OUTAGE_S * 25, "the lag did not grow: reading went on"
    assert drained is not None and drained < 30, "the lag did not fall back"
    assert run.lag[-1][1] == 0
    assert paused and all(g["available"] == 0 and g["server_error"] == 1 for g in paused)
    assert run.gauges[-1][1]["available"] == 1
    assert stats["by_status"].get("503", 0) > 0
    log = worker.log_tail(100_000)
    assert log.count("LLM unavailable (server_error)") == 1
    assert "LLM available again" in log


def test_quota_exhaustion_pauses_with_its_reason_on_the_metrics(
    started: tuple[LocalLLMProcess, WorkerProcess, dict[str, str]], run_topics: RunTopics
) -> None:
    llm, worker, env = started
    bootstrap = env["STREAMS_KAFKA_BOOTSTRAP_SERVERS"]
    statuses = corpus(200, start=6_000_000)
    llm.start_outage(20, kind="insufficient_quota")
    window_end = time.monotonic() + 20
    produce_statuses(bootstrap, run_topics.raw, statuses)
    seen: dict[str, float] = {}
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        seen = scrape(worker)
        if seen.get("insufficient_quota") == 1:
            break
        time.sleep(0.5)
    assert seen.get("insufficient_quota") == 1 and seen["available"] == 0, seen
    assert all(v == 0 for k, v in seen.items() if k not in ("insufficient_quota", "available"))
    time.sleep(max(0.0, window_end - time.monotonic() - 2))
    quota_429s = llm.stats()["by_status"].get("429", 0)
    log = worker.log_tail(100_000)
    # Logged when it started, not per failed call or probe (the reminder is once a minute).
    assert log.count("LLM unavailable") == 1 and "LLM still unavailable" not in log, log
    assert "restarting the worker does not help" in log
    records = asyncio.run(
        read_until(
            bootstrap, [run_topics.scored, run_topics.dlq],
            lambda rs: len({r.key for r in rs}) >= len(statuses), timeout_s=60,
        )
    )  # fmt: skip
    scored, dead = scored_and_dead(records, run_topics)
    print(f"\nquota exhausted for 20 s: {quota_429s} 429s, then {len(scored)} scored, "
          f"dead letters {sum(dead.values())}")  # fmt: skip
    assert quota_429s >= 3
    assert sum(dead.values()) == 0 and set(scored) == {str(s["id"]) for s in statuses}
    assert scrape(worker)["available"] == 1


def wait_until(what: str, done: Callable[[], bool], timeout_s: float, logs: str = "") -> float:
    """Poll ``done`` twice a second; the time it came true."""
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not within {timeout_s:.0f} s\n{logs}")
        time.sleep(0.5)
    return time.monotonic()


def test_a_rebalance_during_an_outage_drops_the_held_batches_at_once(
    worker_env: dict[str, str], tmp_path: Path, run_topics: RunTopics,
    local_llm: Callable[..., LocalLLMProcess],
) -> None:  # fmt: skip
    llm = local_llm()
    env = outage_env(worker_env, llm)
    bootstrap = env["STREAMS_KAFKA_BOOTSTRAP_SERVERS"]
    create_topics(env)
    statuses = corpus(600, start=7_000_000)
    llm.start_outage(45)
    outage_end = time.monotonic() + 45
    first = WorkerProcess(env, tmp_path / "first.log").start()
    second_env = {**env, **as_env({"web_port": free_port(), "data_dir": tmp_path / "second"})}
    second = WorkerProcess(second_env, tmp_path / "second.log")
    try:
        first.wait_ready(path="/metrics")
        produce_statuses(bootstrap, run_topics.raw, statuses)
        wait_until("the first worker paused", lambda: scrape(first)["available"] == 0, 30)
        # A second worker joins the group: the first must give its partitions up now, with
        # its batches held for the LLM, not when the LLM is back.
        joined = time.monotonic()
        second.start().wait_ready(path="/metrics")
        dropped = wait_until(
            "the first worker dropped its held batches",
            lambda: "dropped unpublished" in first.log_tail(100_000), 40, first.log_tail(),
        )  # fmt: skip
        paused = wait_until(
            "the second worker read posts of its own (and paused)",
            lambda: scrape(second)["available"] == 0, 40, second.log_tail(),
        )  # fmt: skip
        assert paused < outage_end, "the rebalance waited for the LLM"
        records = asyncio.run(
            read_until(
                bootstrap, [run_topics.scored, run_topics.dlq],
                lambda rs: len({r.key for r in rs}) >= len(statuses), timeout_s=90,
            )
        )  # fmt: skip
        time.sleep(2)  # late duplicates, if any, show up now
        records = asyncio.run(
            read_until(bootstrap, [run_topics.scored, run_topics.dlq], lambda rs: False, 3)
        )
    finally:
        second.stop()
        first.stop()
    scored, dead = scored_and_dead(records, run_topics)
    counts = Counter((r.key or b"").decode() for r in records)
    duplicates = sum(c - 1 for c in counts.values())
    items = llm.stats()["items"]
    print(
        f"\nrebalance during an outage: held batches dropped {dropped - joined:.1f} s after the "
        f"second worker started, {outage_end - paused:.0f} s before the LLM came back; "
        f"{len(scored)} scored, {duplicates} duplicates, {sum(dead.values())} dead letters, "
        f"{items} posts scored by the LLM (probes included)"
    )
    assert sum(dead.values()) == 0 and set(scored) == {str(s["id"]) for s in statuses}
    assert_scored_by_the_llm(scored, statuses)
    assert duplicates == 0, "a dropped batch was published after all"
    # The dropped batches were never sent (they would add 25 posts each); a few probes were.
    assert items <= len(statuses) + 10
