"""The harvester through the real broker and a real worker process."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kafka_io import Read, create_topics, produce, produce_statuses, read_until, status

from streams.agents.harvest_io import harvester_group
from streams.bench.rig import wait_committed
from streams.categories import CATEGORIES
from streams.errors import BrokerError
from streams.harvest.export import latest_per_key
from streams.harvest.jsonl_sink import ReadReport, read_jsonl
from streams.harvest.policy import build_training_example
from streams.models.corrections import Correction, TrainingExample
from streams.models.dead_letter import DeadLetterHeaders
from streams.models.status import StatusToScore, parse_raw_record
from streams.testing.workers import WorkerProcess

pytestmark = pytest.mark.broker

SOURCES = ("user_report", "appeal", "admin_override")
TYPES = ("false_positive", "false_negative", "other")


@pytest.fixture
def env(
    worker_env: dict[str, str], tmp_path: Path
) -> dict[str, str]:
    env = {
        **worker_env,
        "STREAMS_CLASSIFIER_ENABLED": "false",
        "STREAMS_TOPIC_PARTITIONS": "3",
        "STREAMS_HARVEST_DIR": str(tmp_path / "harvest"),
        "STREAMS_TEXT_WAIT_S": "3",
        "STREAMS_HARVEST_FLUSH_INTERVAL_S": "0.2",
    }  # fmt: skip
    # As an operator would: the topics exist, co-partitioned, before anything is produced.
    create_topics(env)
    return env


def correction(rng: random.Random, cid: int, status_id: str) -> dict[str, object]:
    moment = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 5000))
    offset = rng.choice(["Z", "+02:00", "-05:00"])
    shifted = {"Z": 0, "+02:00": 2, "-05:00": -5}[offset]
    local = (moment + timedelta(hours=shifted)).strftime("%Y-%m-%dT%H:%M:%S") + offset
    return {
        "correction_id": f"c{cid}",
        "status_id": status_id,
        "feedback_type": rng.choice(TYPES),
        "expected_categories": rng.sample(CATEGORIES, rng.randint(0, 3)),
        "actual_categories": rng.sample(CATEGORIES, rng.randint(0, 2)),
        "source": rng.choice(SOURCES),
        "actor_id": f"mod{rng.randint(1, 9)}",
        "timestamp": local,
    }


def comparable(example: TrainingExample) -> dict[str, object]:
    return example.model_dump(mode="json", exclude={"harvested_at"})


def _bootstrap(env: dict[str, str]) -> str:
    return env["STREAMS_KAFKA_BOOTSTRAP_SERVERS"]


def current_examples(env: dict[str, str]) -> dict[str, bytes | None]:
    latest, _ = asyncio.run(latest_per_key(_bootstrap(env), env["STREAMS_TOPIC_TRAINING"]))
    return latest


@pytest.mark.parametrize("kill", [False, True], ids=["steady", "sigkill"])
def test_2000_corrections_over_500_posts(env: dict[str, str], tmp_path: Path, kill: bool) -> None:
    rng = random.Random(42)
    posts = [status(2_000_000 + i, f"bericht nummer {i}") for i in range(500)]
    produce_statuses(_bootstrap(env), env["STREAMS_TOPIC_RAW"], posts)
    texts = {}
    for post in posts:
        parsed = parse_raw_record(None, json.dumps(post).encode())
        assert isinstance(parsed, StatusToScore)
        texts[parsed.status_id] = (parsed.text, parsed.language)
    ids = list(texts)
    raw_corrections = [correction(rng, i, ids[i % 500]) for i in range(2000)]
    rng.shuffle(raw_corrections)  # out of order by their own timestamps
    records = [(str(c["status_id"]).encode(), json.dumps(c).encode()) for c in raw_corrections]
    asyncio.run(produce(_bootstrap(env), env["STREAMS_TOPIC_CORRECTIONS"], records))

    by_status: dict[str, list[Correction]] = defaultdict(list)
    for c in raw_corrections:
        by_status[str(c["status_id"])].append(Correction.model_validate(c))
    now = datetime.now(UTC)
    expected = {}
    for sid in ids:
        example = build_training_example(sid, by_status[sid], *texts[sid], harvested_at=now)
        assert example is not None
        expected[sid] = comparable(example)

    def matches() -> bool:
        try:
            latest = current_examples(env)
        except BrokerError:
            return False  # the worker has not created the training topic yet
        return len(latest) == 500 and all(
            v is not None and comparable(TrainingExample.model_validate_json(v)) == expected[k]
            for k, v in latest.items()
        )

    started = time.monotonic()
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        if kill:
            asyncio.run(read_until(
                _bootstrap(env), [env["STREAMS_TOPIC_TRAINING"]],
                lambda rs: len(rs) >= 1, timeout_s=120,
            ))  # fmt: skip
            # At the first example: the harvester takes well under a second for all 2000.
            worker.kill()
            worker = WorkerProcess(env, tmp_path / "worker-restarted.log").start()
            worker.wait_ready()
        deadline = time.monotonic() + 180
        while not matches():
            assert time.monotonic() < deadline, f"export never matched; {worker.log_tail()}"
            time.sleep(1)
        elapsed = time.monotonic() - started
        # A worker killed after sending its examples but before its fsync and commit leaves
        # the topic complete and the files not: the restarted one redoes those records, and
        # commits them only once their lines are in the files.
        committed = asyncio.run(wait_committed(
            _bootstrap(env), harvester_group(env["STREAMS_APP_ID"]),
            env["STREAMS_TOPIC_CORRECTIONS"], timeout_s=120,
        ))  # fmt: skip
        assert committed is not None, f"corrections never all committed; {worker.log_tail()}"
    finally:
        assert worker.stop() == 0, worker.log_tail()
    print(f"\nharvester ({'with SIGKILL' if kill else 'steady'}): 2000 corrections to 500 "
          f"current examples in {elapsed:.1f} s = {2000 / elapsed:.0f} corrections/s")  # fmt: skip

    out = tmp_path / "export.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "streams.cli", "harvest", "export", "--out", str(out)],
        env={**os.environ, **env}, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "exported 500 examples" in result.stdout
    exported = [TrainingExample.model_validate_json(line) for line in out.read_text().splitlines()]
    assert {e.status_id: comparable(e) for e in exported} == expected

    lines = 0
    last_lines: dict[str, TrainingExample] = {}
    for path in sorted((tmp_path / "harvest").glob("harvest_*.jsonl")):
        report = ReadReport()
        for record in read_jsonl(path, report):
            example = TrainingExample.model_validate(record)
            last_lines[example.status_id] = example
            lines += 1
        assert report.clean, f"{path}: {report}"
    assert lines >= 500
    assert {k: comparable(v) for k, v in last_lines.items()} == expected


def test_text_join_wait_dead_letter_and_erasure(env: dict[str, str], tmp_path: Path) -> None:
    bootstrap = _bootstrap(env)
    produce_statuses(bootstrap, env["STREAMS_TOPIC_RAW"], [status(42, "gezien bericht")])
    base = {"feedback_type": "false_negative", "expected_categories": ["insult"],
            "source": "appeal", "timestamp": "2026-11-01T12:00:00+02:00"}  # fmt: skip
    seen = {**base, "correction_id": "k1", "status_id": "42"}
    unknown = {**base, "correction_id": "k2", "status_id": "43"}
    late = {**base, "correction_id": "k3", "status_id": "44"}
    records = [
        (str(c["status_id"]).encode(), json.dumps(c).encode()) for c in (seen, unknown, late)
    ]
    asyncio.run(produce(bootstrap, env["STREAMS_TOPIC_CORRECTIONS"], records))
    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        worker.wait_ready()
        # The text of 44 arrives after its correction, within the wait.
        produce_statuses(bootstrap, env["STREAMS_TOPIC_RAW"], [status(44, "later bericht")])
        topics = [env["STREAMS_TOPIC_TRAINING"], env["STREAMS_TOPIC_DLQ"]]

        def keys(rs: list[Read]) -> set[bytes | None]:
            return {r.key for r in rs}

        got = asyncio.run(
            read_until(bootstrap, topics, lambda rs: keys(rs) >= {b"42", b"43", b"44"}, 30)
        )
        by_key = {(r.topic, r.key): r for r in got}
        example = TrainingExample.model_validate_json(
            by_key[(env["STREAMS_TOPIC_TRAINING"], b"42")].value or b""
        )
        assert example.text == "gezien bericht (#42)" and example.labels["insult"] == 1
        late_example = by_key[(env["STREAMS_TOPIC_TRAINING"], b"44")]
        late_text = TrainingExample.model_validate_json(late_example.value or b"").text
        assert late_text.startswith("later")
        dead = by_key[(env["STREAMS_TOPIC_DLQ"], b"43")]
        headers = DeadLetterHeaders.from_headers(dead.headers)
        assert headers.stage == "harvest" and headers.reason == "text_wait_expired"
        assert json.loads(dead.value or b"") == unknown

        # Deleting post 42 erases its example.
        asyncio.run(produce(bootstrap, env["STREAMS_TOPIC_RAW"], [(b"42", None)]))
        asyncio.run(read_until(
            bootstrap, [env["STREAMS_TOPIC_TRAINING"]],
            lambda rs: any(r.key == b"42" and r.value is None for r in rs), 30,
        ))  # fmt: skip
        assert worker.proc is not None and worker.proc.poll() is None
    latest = current_examples(env)
    assert latest[b"42".decode()] is None and latest["44"] is not None


def test_feedback_endpoint(env: dict[str, str], tmp_path: Path) -> None:
    token = "harvester-flow-token-0123456789"
    env = {**env, "STREAMS_API_TOKEN": token}
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        worker.wait_ready()
        url = worker.web_url + "/api/v1/feedback"

        def post(body: bytes) -> tuple[int, dict[str, object]]:
            request = urllib.request.Request(url, data=body, method="POST", headers=auth)
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return response.status, json.loads(response.read())
            except urllib.error.HTTPError as error:
                return error.code, json.loads(error.read())

        code, body = post(json.dumps({"status_id": "1", "source": "nobody"}).encode())
        assert code == 422
        fields = {tuple(e["loc"]) for e in body["detail"]}  # type: ignore[union-attr]
        assert ("source",) in fields and ("correction_id",) in fields
        good = {"correction_id": "web-1", "status_id": "77", "feedback_type": "false_positive",
                "source": "admin_override", "timestamp": "2026-11-02T10:00:00Z"}  # fmt: skip
        code, body = post(json.dumps(good).encode())
        assert code == 202 and body["correction_id"] == "web-1"
        records = asyncio.run(read_until(
            _bootstrap(env), [env["STREAMS_TOPIC_CORRECTIONS"]], lambda rs: len(rs) >= 1, 20
        ))  # fmt: skip
        assert records[0].key == b"77"
        assert Correction.model_validate_json(records[0].value or b"").correction_id == "web-1"
        summary_request = urllib.request.Request(worker.web_url + "/api/feedback/summary",
                                                 headers=auth)  # fmt: skip
        with urllib.request.urlopen(summary_request, timeout=10) as r:
            summary = json.loads(r.read())
        assert set(summary) >= {"by_feedback_type", "by_source", "by_category"}
