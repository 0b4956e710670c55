"""``streams shadow`` through the real broker, a real live worker and the command line.

A live worker scores 2,000 retained posts with the lexicon and harvests corrections of 300 of
them; then two candidates are replayed over the raw topic: the lexicon with another threshold
and a calibration map, and the local OpenAI-compatible server through the real openai client.
The live scored topic (every record, offset and byte), the other live topics' end offsets and
the live group's committed offsets must come out of both runs unchanged, and the report's
figures must match what this test computes on its own from the records.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import GroupCoordinatorNotAvailableError
from kafka_io import create_topics, produce

from streams.agents.harvest_io import harvester_group
from streams.calibration.map import CalibrationMap, CategoryCalibration
from streams.harvest.export import latest_per_key
from streams.kafka.admin import describe_topic
from streams.llm.lexicon import score_text
from streams.models.corrections import TrainingExample
from streams.models.scored import ScoredStatus
from streams.shadow.replay import CANDIDATE_HEADER
from streams.shadow.results import ShadowReport
from streams.testing.corpus import BenchPost, make_posts
from streams.testing.llm_server.process import LocalLLMProcess
from streams.testing.workers import WorkerProcess

pytestmark = pytest.mark.broker

POSTS = 2000
CORRECTED = 300
THRESHOLD = 0.4
#: Dutch posts get a threat score they never had (flagged: flips up); antisemitism is halved
#: (its posts flagged on nothing else are unflagged: flips down).
CALIBRATION = CalibrationMap(version="test-cal-1", entries=[
    CategoryCalibration(category="threat", language="nl", method="isotonic", examples=200,
                        positives=50, x=[0.0, 1.0], y=[0.45, 1.0]),
    CategoryCalibration(category="antisemitism", method="isotonic", examples=200, positives=50,
                        x=[0.0, 1.0], y=[0.0, 0.5]),
])  # fmt: skip

Snapshot = dict[str, Any]


async def _topic_records(bootstrap: str, topic: str) -> list[tuple[Any, ...]]:
    """Every record of ``topic``: partition, offset, key, value, headers."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(await _partitions(bootstrap, topic))]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        records: list[tuple[Any, ...]] = []
        while [tp for tp in tps if await consumer.position(tp) < end[tp]]:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records += [(r.partition, r.offset, r.key, r.value, tuple(r.headers))
                            for r in batch]  # fmt: skip
        return sorted(records)
    finally:
        await consumer.stop()


async def _partitions(bootstrap: str, topic: str) -> int:
    described = await describe_topic(bootstrap, topic)
    assert described is not None, f"no topic {topic}"
    return described[0]


async def _end_offsets(bootstrap: str, topics: list[str]) -> dict[str, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in topics for p in range(await _partitions(bootstrap, t))]
        ends = await consumer.end_offsets(tps)
        return {f"{tp.topic}:{tp.partition}": offset for tp, offset in ends.items()}
    finally:
        await consumer.stop()


async def _group_offsets(bootstrap: str, group: str) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
        return {f"{tp.topic}:{tp.partition}": meta.offset for tp, meta in offsets.items()}
    except GroupCoordinatorNotAvailableError:
        return {}  # the group has not formed yet: nothing committed
    finally:
        await admin.close()


def snapshot(env: dict[str, str]) -> Snapshot:
    bootstrap = env["STREAMS_KAFKA_BOOTSTRAP_SERVERS"]
    live = [env[f"STREAMS_TOPIC_{role}"] for role in ("RAW", "DLQ", "CORRECTIONS", "TRAINING")]
    return {
        "scored": asyncio.run(_topic_records(bootstrap, env["STREAMS_TOPIC_SCORED"])),
        "end_offsets": asyncio.run(_end_offsets(bootstrap, live)),
        "group": asyncio.run(_group_offsets(bootstrap, env["STREAMS_APP_ID"])),
        "harvester_group": asyncio.run(
            _group_offsets(bootstrap, harvester_group(env["STREAMS_APP_ID"]))
        ),
    }


def wait_for(what: str, check: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(1.0)
    raise AssertionError(f"timed out waiting for {what}")


def correction(post: BenchPost, rng: random.Random, when: datetime) -> dict[str, object]:
    toxic = post.toxic != (rng.random() < 0.2)  # a fifth of the labels disagree with the corpus
    expected = ["toxic", "insult"] if toxic else []
    return {
        "correction_id": f"c-{post.status_id}", "status_id": post.status_id,
        "text": post.parsed().text, "language": post.language,
        "feedback_type": "false_negative" if toxic else "false_positive",
        "expected_categories": expected, "source": "admin_override", "actor_id": "mod1",
        "timestamp": when.isoformat().replace("+00:00", "Z"),
    }  # fmt: skip


@pytest.fixture
def live(worker_env: dict[str, str], tmp_path: Path) -> Any:
    """A live worker that has scored 2,000 posts and harvested 300 corrections: its env."""
    env = {
        **worker_env,
        "STREAMS_SCORING_BACKEND": "lexicon",
        "STREAMS_HARVEST_DIR": str(tmp_path / "harvest"),
        "STREAMS_TEXT_WAIT_S": "3",
    }
    bootstrap = env["STREAMS_KAFKA_BOOTSTRAP_SERVERS"]
    create_topics(env)
    posts = make_posts(POSTS, seed=7)
    asyncio.run(produce(bootstrap, env["STREAMS_TOPIC_RAW"], [(p.key, p.value) for p in posts]))
    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        worker.wait_ready()
        rng = random.Random(16)
        when = datetime.now(UTC) - timedelta(hours=1)
        chosen = rng.sample(posts, CORRECTED)
        records = [(p.key, json.dumps(correction(p, rng, when)).encode()) for p in chosen]
        asyncio.run(produce(bootstrap, env["STREAMS_TOPIC_CORRECTIONS"], records))

        inputs = [env["STREAMS_TOPIC_RAW"], env["STREAMS_TOPIC_CORRECTIONS"]]

        def settled() -> bool:
            ends = asyncio.run(_end_offsets(bootstrap, inputs))
            # The classifier commits the raw topic in the app's group, the harvester both
            # inputs in its own.
            scored = asyncio.run(_group_offsets(bootstrap, env["STREAMS_APP_ID"]))
            harvested = asyncio.run(
                _group_offsets(bootstrap, harvester_group(env["STREAMS_APP_ID"]))
            )
            examples, _ = asyncio.run(latest_per_key(bootstrap, env["STREAMS_TOPIC_TRAINING"]))
            raw = env["STREAMS_TOPIC_RAW"]
            return (
                len(examples) == CORRECTED
                and all(harvested.get(k) == v for k, v in ends.items())
                and all(scored.get(k) == v for k, v in ends.items() if k.startswith(f"{raw}:"))
            )

        wait_for("the live worker to score and harvest everything", settled, 180)
        yield env, {p.status_id: p for p in posts}, worker
        assert worker.proc is not None and worker.proc.poll() is None, worker.log_tail()


def run_shadow(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", "shadow", *args], env={**os.environ, **env},
        capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def expected_candidate(post: BenchPost) -> dict[str, float]:
    return CALIBRATION.apply_all(score_text(post.parsed().text), post.language)


def check_against_records(
    report: ShadowReport, live: dict[str, ScoredStatus], posts: dict[str, BenchPost],
    examples: dict[str, TrainingExample],
) -> None:  # fmt: skip
    """The report's figures, recomputed here from the live records and the lexicon."""
    cand = {sid: expected_candidate(p) for sid, p in posts.items()}
    flags = {sid: {c for c, v in s.items() if v >= THRESHOLD} for sid, s in cand.items()}
    for category in ("threat", "antisemitism", "toxic"):
        row = next(a for a in report.comparison.agreement if a.category == category)
        alike = sum(
            (category in flags[s]) == (category in live[s].flagged_categories) for s in live
        )
        diff = sum(abs(cand[s][category] - live[s].scores.as_dict()[category]) for s in live)
        assert row.flag_agreement == pytest.approx(alike / POSTS), category
        assert row.mean_abs_diff == pytest.approx(diff / POSTS), category
    up = sorted(s for s in live if flags[s] and not live[s].flagged)
    down = sorted(s for s in live if live[s].flagged and not flags[s])
    assert (report.comparison.flips.to_flagged, report.comparison.flips.to_unflagged) == (
        len(up), len(down))  # fmt: skip
    assert up and down and report.comparison.flips.to_flagged_ids == up[:5]
    labelled = report.comparison.labelled
    assert labelled.examples == CORRECTED
    for side, flagged in (("live", lambda s: "toxic" in live[s].flagged_categories),
                          ("candidate", lambda s: "toxic" in flags[s])):  # fmt: skip
        tp = sum(1 for s, e in examples.items() if flagged(s) and e.labels["toxic"])
        figures = next(f for f in getattr(labelled, side) if f.category == "toxic")
        assert figures.true_positives == tp
        assert figures.precision == pytest.approx(tp / sum(1 for s in examples if flagged(s)))
        assert figures.recall == pytest.approx(
            tp / sum(e.labels["toxic"] for e in examples.values())
        )


def test_shadow_candidates_leave_the_live_topics_and_group_untouched(
    live: Any, tmp_path: Path, local_llm: Callable[..., LocalLLMProcess]
) -> None:
    env, posts, _worker = live
    bootstrap = env["STREAMS_KAFKA_BOOTSTRAP_SERVERS"]
    before = snapshot(env)
    assert len({r[2] for r in before["scored"]}) == POSTS
    assert before["group"] and before["harvester_group"]
    calibration = tmp_path / "calibration.json"
    calibration.write_bytes(CALIBRATION.to_bytes())

    done = run_shadow(env, "--candidate", f"lexicon,flag_threshold={THRESHOLD}",
                      "--calibration", str(calibration), "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = ShadowReport.model_validate(json.loads(done.stdout))
    assert f"{POSTS}/{POSTS} records" in done.stderr  # progress went to stderr
    assert (report.replay.records, report.replay.scored, report.comparison.posts) == (POSTS,) * 3
    assert report.candidate.calibration == "test-cal-1" and report.candidate.threshold == THRESHOLD
    assert (report.live.backend, report.live.threshold) == ("lexicon", 0.5)
    live_records = {r[2].decode(): ScoredStatus.model_validate_json(r[3]) for r in before["scored"]}
    examples = {k: TrainingExample.model_validate_json(v) for k, v in
                asyncio.run(latest_per_key(bootstrap, env["STREAMS_TOPIC_TRAINING"]))[0].items()
                if v is not None}  # fmt: skip
    check_against_records(report, live_records, posts, examples)

    shadow = asyncio.run(_topic_records(bootstrap, report.replay.shadow_topic))
    assert report.replay.shadow_topic == env["STREAMS_TOPIC_SCORED"] + ".shadow"
    assert len(shadow) == POSTS and {r[2].decode() for r in shadow} == set(posts)
    for _p, _o, key, value, headers in shadow[:: POSTS // 20]:
        record = ScoredStatus.model_validate_json(value)
        assert record.scores.as_dict() == pytest.approx(expected_candidate(posts[key.decode()]))
        assert dict(headers)[CANDIDATE_HEADER] == f"lexicon,flag_threshold={THRESHOLD}".encode()

    llm = local_llm()
    fields = ",".join(f"{k}={v}" for k, v in llm.worker_fields().items() if k != "scoring_backend")
    table = run_shadow(env, "--candidate", f"openai,{fields}", "--limit", "300",
                       "--shadow-topic", env["STREAMS_TOPIC_SCORED"] + ".llm")  # fmt: skip
    assert table.returncode == 0, table.stderr
    assert llm.api_key not in table.stdout + table.stderr  # the spec's key is never printed
    assert "compared 300 posts" in table.stdout and "flag agreement" in table.stdout
    cost = next(line for line in table.stdout.splitlines() if line.startswith("candidate  "))
    assert float(cost.split()[-2]) > 0  # USD per 1,000 posts through the LLM; live paid 0

    ends = {int(k.rsplit(":", 1)[1]): v for k, v in before["end_offsets"].items()
            if k.startswith(env["STREAMS_TOPIC_RAW"] + ":")}  # fmt: skip
    tail = run_shadow(env, "--candidate", "lexicon", "--from-offset", "600", "--json")
    assert tail.returncode == 0, tail.stderr
    tail_report = ShadowReport.model_validate(json.loads(tail.stdout)).replay
    assert {p.partition: (p.start, p.end) for p in tail_report.partitions} == {
        p: (min(600, end), end) for p, end in ends.items()}  # fmt: skip
    assert tail_report.records == sum(max(0, end - 600) for end in ends.values())
    later = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    none = run_shadow(env, "--candidate", "lexicon", "--since", later)
    assert none.returncode == 0, none.stderr
    assert "0 records over 3 partitions" in none.stdout and "compared 0 posts" in none.stdout
    earlier = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    some = run_shadow(env, "--candidate", "lexicon", "--since", earlier, "--limit", "10")
    assert some.returncode == 0 and "10 records over 3 partitions" in some.stdout, some.stderr
    nobody = "openai,openai_base_url=http://127.0.0.1:1/v1,openai_api_key=k,openai_max_retries=0"
    down = run_shadow(env, "--candidate", nobody, "--limit", "50")
    assert down.returncode == 2 and "LLM endpoint did not answer" in down.stderr, down.stderr

    after = snapshot(env)
    assert after["group"] == before["group"]
    assert after["harvester_group"] == before["harvester_group"]
    assert after["end_offsets"] == before["end_offsets"]
    assert after["scored"] == before["scored"]  # every record, offset and byte


def test_shadow_names_a_missing_topic_and_an_unreachable_broker(
    worker_env: dict[str, str],
) -> None:
    missing = run_shadow(worker_env, "--candidate", "lexicon")
    assert missing.returncode == 2
    assert f"raw topic {worker_env['STREAMS_TOPIC_RAW']} does not exist" in missing.stderr
    away = run_shadow({**worker_env, "STREAMS_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"},
                      "--candidate", "lexicon")  # fmt: skip
    assert away.returncode == 2 and "cannot connect to any Kafka bootstrap server" in away.stderr
    wrong = run_shadow(worker_env, "--candidate", "gpt")
    assert wrong.returncode == 2 and "unknown backend" in wrong.stderr
    helped = run_shadow(worker_env, "--help")
    assert helped.returncode == 0
    for words in ("--candidate", "--calibration", "--since", "--from-offset", "--json",
                  "consumer group", "flips", "precision"):  # fmt: skip
        assert words in helped.stdout, words
