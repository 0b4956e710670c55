"""Inputs built to overflow the harvester's state leave it running and intact across a restart.

Through the real broker and two worker runs: 100 corrections of 5,000 CJK characters for one
post decided by an admin override (3 MB of escaped JSON as one table record), unbounded
fields, a status id with control characters, a year-9999 timestamp, and a post whose text is
too large for the texts table (cut at 50,000 characters, all emoji). Each refused input is
dead-lettered with its reason; after the restart the post's state is still there and the
admin override still decides.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from kafka_io import Read, create_topics, produce, read_until, status

from streams.harvest.export import latest_per_key
from streams.kafka.catalog import TABLE_CHANGELOG_MAX_MESSAGE_BYTES
from streams.models.corrections import TrainingExample
from streams.models.dead_letter import DeadLetterHeaders
from streams.testing.workers import WorkerProcess

pytestmark = pytest.mark.broker

POST = "5005"
CJK = "\u8a00" * 5_000


def _correction(cid: str, **fields: object) -> dict[str, object]:
    return {
        "correction_id": cid, "status_id": POST, "feedback_type": "false_negative",
        "expected_categories": ["toxic"], "source": "user_report",
        "timestamp": "2026-11-01T12:00:00Z", **fields,
    }  # fmt: skip


def _encoded(correction: dict[str, object]) -> tuple[bytes, bytes]:
    return str(correction["status_id"]).encode(), json.dumps(correction).encode()


BAD = {
    "long_reason": _correction("bad-1", reason="r" * 10_000),
    "long_actor": _correction("bad-2", actor_id="a" * 1_000),
    "control_id": _correction("bad-3", status_id="a b\n\x00"),
    "far_future": _correction("bad-4", timestamp="9999-01-01T00:00:00Z"),
}


def _examples_of(records: list[Read], topic: str) -> list[TrainingExample]:
    return [
        TrainingExample.model_validate_json(r.value)
        for r in records
        if r.topic == topic and r.key == POST.encode() and r.value
    ]


def test_oversized_inputs_are_refused_and_state_survives(
    worker_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**worker_env, "STREAMS_HARVEST_DIR": str(tmp_path / "harvest"),
           "STREAMS_HARVEST_FLUSH_INTERVAL_S": "0.2"}  # fmt: skip
    create_topics(env)
    bootstrap = env["STREAMS_KAFKA_BOOTSTRAP_SERVERS"]
    training, dlq = env["STREAMS_TOPIC_TRAINING"], env["STREAMS_TOPIC_DLQ"]
    # Astral characters escape to 12 bytes each: 50,000 of them (where a status's text is cut)
    # are 600 KB of JSON, over the texts table's bound.
    huge = status(6006, "\U0001f600" * 60_000)
    raw_records = [
        (POST.encode(), json.dumps(status(int(POST), "een bericht")).encode()),
        (b"6006", json.dumps(huge, ensure_ascii=False).encode()),
    ]
    override = _correction("admin", source="admin_override", expected_categories=["insult"],
                           text=CJK)  # fmt: skip
    reports = [_correction(f"r{i:03}", text=CJK, timestamp=f"2026-11-01T12:{i % 60:02}:00Z")
               for i in range(100)]  # fmt: skip
    asyncio.run(produce(bootstrap, env["STREAMS_TOPIC_RAW"], raw_records))
    corrections = [override, *reports, *BAD.values()]
    asyncio.run(produce(bootstrap, env["STREAMS_TOPIC_CORRECTIONS"], map(_encoded, corrections)))

    def done(records: list[Read]) -> bool:
        dead = [
            r for r in records if r.topic == dlq and dict(r.headers).get("dlq.stage") == b"harvest"
        ]
        return len(dead) >= len(BAD) + 1 and len(_examples_of(records, training)) >= 101

    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        worker.wait_ready()
        records = asyncio.run(read_until(bootstrap, [training, dlq], done, 90))
        assert worker.proc is not None and worker.proc.poll() is None, worker.log_tail()
    dead = [DeadLetterHeaders.from_headers(r.headers) for r in records if r.topic == dlq]
    reasons = sorted(h.reason for h in dead if h.stage == "harvest")
    assert reasons == ["invalid_correction"] * len(BAD) + ["text_too_large"], reasons
    assert all(h.message for h in dead), "every dead letter says why"
    assert _examples_of(records, training)[-1].deciding_correction_id == "admin"

    changelog = f"{env['STREAMS_APP_ID']}-harvest-corrections-changelog"
    latest, _ = asyncio.run(latest_per_key(bootstrap, changelog))
    stored = [v for k, v in latest.items() if POST in k and v]
    assert stored and len(stored[0]) < TABLE_CHANGELOG_MAX_MESSAGE_BYTES

    # After a restart the state is restored: one more report merges with the kept override.
    later = _correction("after-restart", timestamp="2026-11-02T09:00:00Z")
    asyncio.run(produce(bootstrap, env["STREAMS_TOPIC_CORRECTIONS"], [_encoded(later)]))
    with WorkerProcess(env, tmp_path / "worker-restarted.log") as worker:
        worker.wait_ready()

        def newest_has_later(rs: list[Read]) -> bool:
            examples = _examples_of(rs, training)
            return bool(examples) and any(
                p.correction_id == "after-restart" for p in examples[-1].provenance
            )

        records = asyncio.run(read_until(bootstrap, [training], newest_has_later, 90))
        assert worker.proc is not None and worker.proc.poll() is None, worker.log_tail()
    newest = _examples_of(records, training)[-1]
    assert newest.deciding_correction_id == "admin" and newest.labels["insult"] == 1
    assert any(p.correction_id == "after-restart" for p in newest.provenance)
