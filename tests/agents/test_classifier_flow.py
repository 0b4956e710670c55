"""The classifier through the real broker, a real worker process and the local LLM server."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from kafka_io import Read, corpus, create_topics, produce_statuses, read_until

from streams.llm.lexicon import score_text
from streams.models.dead_letter import DeadLetterHeaders
from streams.models.scored import ScoredStatus
from streams.models.status import StatusToScore, parse_raw_record
from streams.testing.llm_server.process import LocalLLMProcess
from streams.testing.topics import RunTopics
from streams.testing.workers import WorkerProcess, as_env

pytestmark = pytest.mark.broker


def classifier_env(worker_env: dict[str, str], llm: LocalLLMProcess) -> dict[str, str]:
    return {**worker_env, **as_env(llm.worker_fields(timeout_s=2))}


@dataclass
class Verdict:
    scored: dict[str, ScoredStatus]
    dead: dict[str, DeadLetterHeaders]
    duplicates: int
    lost: list[str]
    wrong_scores: list[str]


def verify(records: list[Read], sent: dict[str, bytes], topics: RunTopics) -> Verdict:
    """Every id scored (with the scores the local server's scorer gives) or dead-lettered."""
    scored: dict[str, ScoredStatus] = {}
    dead: dict[str, DeadLetterHeaders] = {}
    counts: Counter[str] = Counter()
    for record in records:
        key = (record.key or b"").decode()
        counts[key] += 1
        if record.topic == topics.scored and record.value:
            scored[key] = ScoredStatus.model_validate_json(record.value)
        elif record.topic == topics.dlq:
            dead[key] = DeadLetterHeaders.from_headers(record.headers)
    wrong = []
    for status_id, record in scored.items():
        parsed = parse_raw_record(status_id.encode(), sent[status_id])
        assert isinstance(parsed, StatusToScore)
        if record.scores.as_dict() != score_text(parsed.text):
            wrong.append(status_id)
    lost = [sid for sid in sent if sid not in scored and sid not in dead]
    return Verdict(scored, dead, sum(c - 1 for c in counts.values()), lost, wrong)


def run_flow(
    kafka_bootstrap: str, env: dict[str, str], topics: RunTopics, n: int, tmp_path: Path,
    kill_after: int | None = None,
) -> tuple[Verdict, float]:  # fmt: skip
    statuses = corpus(n)
    sent = {str(s["id"]): json.dumps(s).encode() for s in statuses}
    create_topics(env)
    produce_statuses(kafka_bootstrap, topics.raw, statuses)

    def all_in(records: list[Read]) -> bool:
        return len({r.key for r in records}) >= n

    started = time.monotonic()
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        if kill_after is not None:
            asyncio.run(
                read_until(
                    kafka_bootstrap, [topics.scored],
                    lambda rs: len(rs) >= kill_after, timeout_s=120,
                )
            )  # fmt: skip
            worker.kill()
            worker = WorkerProcess(env, tmp_path / "worker-restarted.log").start()
        records = asyncio.run(
            read_until(kafka_bootstrap, [topics.scored, topics.dlq], all_in, timeout_s=240)
        )
        elapsed = time.monotonic() - started
        # Give duplicates a moment to show before counting them.
        time.sleep(1)
        records = asyncio.run(
            read_until(kafka_bootstrap, [topics.scored, topics.dlq], lambda rs: False, 3)
        )
    finally:
        code = worker.stop()
    assert code == 0, f"worker exited {code}: {worker.log_tail()}"
    return verify(records, sent, topics), elapsed


def test_5000_posts_all_scored(
    kafka_bootstrap: str, worker_env: dict[str, str], run_topics: RunTopics, tmp_path: Path,
    local_llm: Callable[..., LocalLLMProcess],
) -> None:
    llm = local_llm()
    verdict, elapsed = run_flow(
        kafka_bootstrap, classifier_env(worker_env, llm), run_topics, 5000, tmp_path
    )
    stats = llm.stats()
    print(f"\n5000 posts: {len(verdict.scored)} scored in {elapsed:.1f} s, "
          f"{stats['requests']} LLM requests, duplicates {verdict.duplicates}")  # fmt: skip
    assert verdict.lost == []
    assert len(verdict.scored) == 5000 and verdict.dead == {}
    assert verdict.wrong_scores == [], "a post was published with scores the LLM did not give"
    assert any(s.flagged for s in verdict.scored.values())


def test_faults_in_20_percent_of_calls(
    kafka_bootstrap: str, worker_env: dict[str, str], run_topics: RunTopics, tmp_path: Path,
    local_llm: Callable[..., LocalLLMProcess],
) -> None:
    llm = local_llm(fault_rate=0.2, seed=11, hang_s=3)
    verdict, elapsed = run_flow(
        kafka_bootstrap, classifier_env(worker_env, llm), run_topics, 5000, tmp_path
    )
    stats = llm.stats()
    reasons = Counter(d.reason for d in verdict.dead.values())
    print(f"\nfaults: {stats['faults']}; scored {len(verdict.scored)}, "
          f"dead letters {dict(reasons)}, {elapsed:.1f} s")  # fmt: skip
    faults = sum(stats["faults"].values())
    assert faults >= 0.15 * stats["requests"] and len(stats["faults"]) >= 8, "fault mix not used"
    assert verdict.lost == []
    assert verdict.wrong_scores == []
    assert len(verdict.scored) + len(verdict.dead) == 5000
    for headers in verdict.dead.values():
        assert headers.stage == "score" and headers.reason and headers.attempts >= 1


def test_sigkill_mid_run_loses_nothing_in_a_new_group(
    kafka_bootstrap: str, worker_env: dict[str, str], run_topics: RunTopics, tmp_path: Path,
    local_llm: Callable[..., LocalLLMProcess],
) -> None:
    # Faults and latency make batches finish out of order, the case where Faust alone would
    # commit past records still in flight in a group that has no committed offset yet.
    llm = local_llm(fault_rate=0.2, latency_ms=20, seed=5, hang_s=3)
    env = classifier_env(worker_env, llm)
    env["STREAMS_MAX_BATCHES_IN_FLIGHT"] = "6"
    kill_after = random.Random(0).randint(300, 900)
    verdict, _ = run_flow(kafka_bootstrap, env, run_topics, 3000, tmp_path, kill_after=kill_after)
    print(f"\nkilled after {kill_after} scored; duplicates after restart: {verdict.duplicates}")
    assert verdict.lost == []
    assert verdict.wrong_scores == []


def test_bad_api_key_stops_the_worker_with_a_clear_message(
    kafka_bootstrap: str, worker_env: dict[str, str], run_topics: RunTopics, tmp_path: Path,
    local_llm: Callable[..., LocalLLMProcess],
) -> None:
    llm = local_llm(api_key="the-right-key")
    env = classifier_env(worker_env, llm)
    env["OPENAI_API_KEY"] = env["STREAMS_OPENAI_API_KEY"] = "local-test-key-not-a-secret"
    create_topics(env)
    produce_statuses(kafka_bootstrap, run_topics.raw, corpus(5))
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    assert worker.proc is not None
    try:
        code = worker.proc.wait(timeout=90)
    finally:
        worker.signal(signal.SIGKILL)
    log = (tmp_path / "worker.log").read_text()
    assert code != 0
    assert "refused the API key (401)" in log
    assert env["OPENAI_API_KEY"] not in log
