"""One key per post on the compacted scored topic, boosts included, through a real worker.

A boost is keyed by its own id on the raw topic. Its scored record used to be keyed by the
boosted status, so it came from another partition than that status's own records, in no fixed
order: a boost processed after its original's deletion brought the original back, and a
lagging boost of the pre-edit text overwrote the edit's scores. Here both orders are produced
on purpose, and the latest record of every key must be what that key's own records say.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from kafka_io import BENIGN, TOXIC, create_topics, produce, produce_statuses, read_until, status

from streams.harvest.export import latest_per_key
from streams.models.scored import ScoredStatus
from streams.testing.workers import WorkerProcess

pytestmark = pytest.mark.broker

DELETED, DELETED_BOOST = 8101, 8201
EDITED, LAGGING_BOOST = 8102, 8202


def test_boosts_keep_their_own_key_and_never_overwrite_the_post(
    worker_env: dict[str, str], tmp_path: Path
) -> None:
    create_topics(worker_env)
    bootstrap = worker_env["STREAMS_KAFKA_BOOTSTRAP_SERVERS"]
    raw, scored = worker_env["STREAMS_TOPIC_RAW"], worker_env["STREAMS_TOPIC_SCORED"]
    original = status(DELETED, BENIGN[0])
    before_edit = status(EDITED, BENIGN[1], lang="en")
    after_edit = status(EDITED, TOXIC[3], lang="en", edited_at="2026-11-01T12:05:00.000Z")
    produce_statuses(bootstrap, raw, [original])
    asyncio.run(produce(bootstrap, raw, [(str(DELETED).encode(), None)]))
    produce_statuses(bootstrap, raw, [
        status(DELETED_BOOST, "", reblog=original),  # after its original's deletion
        before_edit, after_edit,
        status(LAGGING_BOOST, "", reblog=before_edit),  # the pre-edit text, after the edit
    ])  # fmt: skip

    with WorkerProcess(worker_env, tmp_path / "worker.log") as worker:
        worker.wait_ready()
        records = asyncio.run(read_until(bootstrap, [scored], lambda rs: len(rs) >= 6, 60))
    assert len(records) == 6, [r.key for r in records]  # a deletion gives a tombstone
    latest, _ = asyncio.run(latest_per_key(bootstrap, scored))

    assert latest[str(DELETED)] is None  # the tombstone is the last word
    boost = ScoredStatus.model_validate_json(latest[str(DELETED_BOOST)] or b"")
    assert (boost.status_id, boost.reblog_of) == (str(DELETED_BOOST), str(DELETED))

    edit = ScoredStatus.model_validate_json(latest[str(EDITED)] or b"")
    assert edit.edited and edit.flagged and edit.reblog_of is None
    lagging = ScoredStatus.model_validate_json(latest[str(LAGGING_BOOST)] or b"")
    assert lagging.reblog_of == str(EDITED) and not lagging.flagged and not lagging.edited

    # Every derived record sits in the partition of the raw records of its key.
    raw_records = asyncio.run(read_until(bootstrap, [raw], lambda rs: len(rs) >= 6, 30))
    raw_partition = {r.key: r.partition for r in raw_records}
    assert {r.key: r.partition for r in records} == {
        k: p for k, p in raw_partition.items() if k is not None
    }
    assert len(set(raw_partition.values())) > 1, "all keys in one partition prove nothing"
