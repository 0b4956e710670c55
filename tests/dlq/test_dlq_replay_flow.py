"""`streams dlq replay` against the real broker, a worker process and the local LLM server:
the dead letters of a fault run are scored once the fault clears, none replayed twice."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kafka_io import Read, corpus, create_topics, produce, produce_statuses, read_until

from streams.dlq.publish import REPLAY_HEADER
from streams.kafka.admin import describe_topic
from streams.llm.lexicon import score_text
from streams.models.scored import ScoredStatus
from streams.models.status import StatusToScore, parse_raw_record
from streams.testing.llm_server.process import LocalLLMProcess
from streams.testing.topics import RunTopics
from streams.testing.workers import WorkerProcess, as_env

pytestmark = pytest.mark.broker

POSTS = 300
#: Faults that spoil a whole reply or one item of it: the posts' own failures, which are
#: dead-lettered (an outage is not: the worker waits it out).
CONTENT_FAULTS = ["not_json", "truncated", "refusal", "missing_ids"]


def replay(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "dlq", "replay", "--json", *args],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return summary


def keys(records: list[Read], topic: str) -> set[str]:
    return {(r.key or b"").decode() for r in records if r.topic == topic}


def read(
    bootstrap: str, topics: list[str], done: Callable[[list[Read]], bool], timeout_s: float = 180
) -> list[Read]:
    return asyncio.run(read_until(bootstrap, topics, done, timeout_s=timeout_s))


def test_dead_letters_of_a_fault_run_are_scored_after_it_clears_once_each(
    kafka_bootstrap: str, worker_env: dict[str, str], run_topics: RunTopics, tmp_path: Path,
    local_llm: Callable[..., LocalLLMProcess],
) -> None:  # fmt: skip
    llm = local_llm(fault_rate=0.5, seed=7)
    llm.set_faults(fault_kinds=CONTENT_FAULTS)
    env = {**worker_env, **as_env({**llm.worker_fields(), "max_attempts": 1, "batch_size": 10})}
    statuses = corpus(POSTS)
    sent = {str(s["id"]): json.dumps(s).encode() for s in statuses}
    create_topics(env)
    produce_statuses(kafka_bootstrap, run_topics.raw, statuses)
    out = [run_topics.scored, run_topics.dlq]
    with WorkerProcess(env, tmp_path / "worker.log"):
        first = read(kafka_bootstrap, out, lambda rs: len({r.key for r in rs}) >= POSTS)
        dead = keys(first, run_topics.dlq)
        assert len(dead) >= 20, "the fault run dead-lettered too few posts to prove anything"
        assert dead.isdisjoint(keys(first, run_topics.scored))
        llm.set_faults(fault_rate=0.0)

        # Since dead-lettered: one post edited, one deleted. Replaying them would undo that.
        edited, deleted = sorted(dead)[:2]
        edit = {**json.loads(sent[edited]), "content": "<p>edited: you absolute moron</p>",
                "edited_at": "2026-11-01T13:00:00.000Z"}  # fmt: skip
        asyncio.run(produce(kafka_bootstrap, run_topics.raw, [
            (edited.encode(), json.dumps(edit).encode()), (deleted.encode(), None),
        ]))  # fmt: skip

        dry = replay(env, "--dry-run")
        assert dry["replayed"] == len(dead) - 2 and dry["superseded"] == 2
        assert asyncio.run(describe_topic(kafka_bootstrap, run_topics.dlq + ".replayed")) is None

        once = replay(env)
        assert (once["replayed"], once["superseded"], once["already_replayed"]) == (
            len(dead) - 2, 2, 0,
        )  # fmt: skip
        assert once["replayed_to"] == {run_topics.raw: len(dead) - 2}
        assert once["by_kind"] and all(k.startswith("score/") for k in once["by_kind"])

        after = read(kafka_bootstrap, out, lambda rs: dead <= keys(rs, run_topics.scored))
        twice = replay(env)
        print(f"\ndead letters {len(dead)}; first replay {once}; second {twice}")
        assert (twice["replayed"], twice["already_replayed"], twice["superseded"]) == (
            0, len(dead) - 2, 2,
        )  # fmt: skip

    latest: dict[str, ScoredStatus | None] = {}
    for r in after:
        if r.topic == run_topics.scored:
            value = r.value
            record = ScoredStatus.model_validate_json(value) if value else None
            latest[(r.key or b"").decode()] = record
    assert set(latest) == set(sent), "every post scored in the end"
    for status_id in dead - {edited, deleted}:
        parsed = parse_raw_record(status_id.encode(), sent[status_id])
        assert isinstance(parsed, StatusToScore)
        record = latest[status_id]
        assert record is not None and record.scores.as_dict() == score_text(parsed.text)
    assert latest[deleted] is None, "the replay brought a deleted post back"
    edited_record = latest[edited]
    assert edited_record is not None and edited_record.edited, "the replay undid an edit"

    # Every replay was acknowledged before the command ended: all of them are there to read.
    raw = read(kafka_bootstrap, [run_topics.raw], lambda rs: False, timeout_s=10)
    per_key = Counter((r.key or b"").decode() for r in raw)
    replays = [r for r in raw if any(name == REPLAY_HEADER for name, _ in r.headers)]
    assert {(r.key or b"").decode() for r in replays} == dead - {edited, deleted}
    assert all(per_key[k] == 2 for k in dead), "a dead letter was replayed twice"
    assert all(per_key[k] == 1 for k in set(sent) - dead)
