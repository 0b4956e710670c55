"""`streams produce`: input reading as plain functions, publishing against the real broker."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from streams.ingest.files import (
    BadRecord,
    GoodRecord,
    correction_key,
    read_records,
    status_key,
)


def status(i: int, **extra: object) -> dict[str, object]:
    return {
        "id": str(100000 + i),
        "created_at": "2026-11-01T12:00:00.000Z",
        "content": f"<p>post number {i}</p>",
        "language": "en",
        "account": {"id": "7", "acct": "someone"},
        **extra,
    }


def test_jsonl_reports_bad_lines_by_number() -> None:
    lines = [json.dumps(status(1)), "", "{oops", json.dumps({"content": "no id"}), "[1, 2]"]
    out = list(read_records("\n".join(lines).encode(), status_key))
    assert [type(r) for r in out] == [GoodRecord, BadRecord, BadRecord, BadRecord]
    assert [r.position for r in out] == ["line 1", "line 3", "line 4", "line 5"]
    good = out[0]
    assert isinstance(good, GoodRecord) and good.key == b"100001"


def test_json_array_input_and_boost_keyed_by_itself() -> None:
    boost = status(2, reblog=status(3))
    data = json.dumps([status(1), boost, "nope"]).encode()
    out = list(read_records(data, status_key))
    assert [r.position for r in out] == ["item 1", "item 2", "item 3"]
    assert [r.key for r in out if isinstance(r, GoodRecord)] == [b"100001", b"100002"]
    assert isinstance(out[2], BadRecord)


def test_correction_key_and_reason() -> None:
    good = {
        "correction_id": "c1", "status_id": "42", "feedback_type": "false_negative",
        "expected_categories": ["insult"], "source": "user_report",
        "timestamp": "2026-11-01T12:00:00+02:00",
    }  # fmt: skip
    assert correction_key(json.dumps(good).encode()) == "42"
    bad = {**good, "timestamp": "2026-11-01T12:00:00"}
    out = list(read_records(json.dumps(bad).encode(), correction_key))
    assert isinstance(out[0], BadRecord) and "time zone" in out[0].reason


def _produce(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", "produce", *args],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


async def _read_all(bootstrap: str, topic: str) -> list[tuple[bytes, bytes]]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        end = await consumer.end_offsets(list(consumer.assignment()))
        records: list[tuple[bytes, bytes]] = []
        while True:
            positions = {tp: await consumer.position(tp) for tp in end}
            if all(positions[tp] >= offset for tp, offset in end.items()):
                return records
            for batch in (await consumer.getmany(timeout_ms=1000)).values():
                records += [(r.key, r.value) for r in batch]
    finally:
        await consumer.stop()


@pytest.mark.broker
def test_10000_lines_with_50_bad(
    kafka_bootstrap: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    rng = random.Random(7)
    bad_lines = set(rng.sample(range(1, 10_001), 50))
    broken = ["{not json", json.dumps({"content": "no id"}), "[]", json.dumps(status(0, id=5))]
    lines = [
        rng.choice(broken) if n in bad_lines else json.dumps(status(n))
        for n in range(1, 10_001)
    ]
    path = tmp_path / "statuses.jsonl"
    path.write_text("\n".join(lines) + "\n")
    topic = unique_name("raw")
    env = {"STREAMS_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap}

    result = _produce(["statuses", str(path), "--topic", topic], env)
    assert result.returncode == 1, result.stderr
    reported = {
        int(line.split()[2].rstrip(":"))
        for line in result.stderr.splitlines()
        if line.startswith("rejected line ")
    }
    assert reported == bad_lines
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith("statuses: sent 9950, rejected 50, ")
    print(summary)

    records = asyncio.run(_read_all(kafka_bootstrap, topic))
    keys = Counter(key for key, _ in records)
    assert len(records) == 9950 and len(keys) == 9950, "a record is missing or was sent twice"
    expected = {str(100000 + n).encode() for n in range(1, 10_001) if n not in bad_lines}
    assert set(keys) == expected


@pytest.mark.broker
def test_strict_sends_nothing(
    kafka_bootstrap: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    path = tmp_path / "statuses.jsonl"
    path.write_text(json.dumps(status(1)) + "\n{broken\n")
    topic = unique_name("raw")
    result = _produce(
        ["statuses", str(path), "--topic", topic, "--strict"],
        {"STREAMS_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap},
    )
    assert result.returncode == 1
    assert "rejected line 2" in result.stderr and "nothing sent" in result.stderr
    assert "sent 0, rejected 1" in result.stdout
