"""``streams ingest mastodon`` (a child process) following the local Mastodon server into the real
broker, and a real worker scoring what it publishes: 1,000 statuses while the server drops the
streaming connection three times (twice with a close frame, once by aborting the TCP
connection) and the follower is stopped and started again, statuses arriving all along.

Every status must reach the raw topic; duplicates (a status both backfilled and streamed) are
counted and printed. Edits and deletions are made while the follower is connected and its
backfill done: Mastodon's API has no way to recover those made while it was away (see
streams.ingest.mastodon.follower).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from kafka_io import BENIGN, TOXIC, create_topics
from mastodon_worker_io import FollowerProcess, read_topic

from streams.models.scored import ScoredStatus
from streams.testing.mastodon import MastodonServerThread
from streams.testing.workers import WorkerProcess

pytestmark = [pytest.mark.broker, pytest.mark.timeout(300)]

TOTAL = 1000
#: When the count of statuses published reaches a key: what happens.
DISRUPTIONS = {150: "close", 350: "abort", 550: "stop follower", 650: "start follower",
               800: "close"}  # fmt: skip
#: Count of statuses at which five fresh ones are posted, two edited and one deleted.
CHANGES = (100, 300, 500, 750, 950)
PACE_S = 0.01


@dataclass
class Published:
    ids: list[str] = field(default_factory=list)
    edited: dict[str, str] = field(default_factory=dict)  # id -> new content
    deleted: list[str] = field(default_factory=list)
    disconnects: int = 0
    restarts: int = 0


def wait_connected(mastodon: MastodonServerThread, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while mastodon.server.connected_streams < 1:
        assert time.monotonic() < deadline, "the follower did not reconnect"
        time.sleep(0.05)


def post(mastodon: MastodonServerThread, done: Published) -> dict[str, Any]:
    texts = TOXIC + BENIGN
    status = mastodon.server.new_status(
        text=f"{texts[len(done.ids) % len(texts)]} #{len(done.ids)}"
    )
    mastodon.publish_status(status)
    done.ids.append(status["id"])
    return status


def change(mastodon: MastodonServerThread, done: Published) -> None:
    """Five statuses streamed live, two of them edited and one deleted."""
    wait_connected(mastodon)
    time.sleep(1.0)  # its backfill is done: what follows is streamed
    fresh = [post(mastodon, done) for _ in range(5)]
    time.sleep(0.2)
    for status in fresh[:2]:
        edit = mastodon.publish_edit(status["id"], text=f"edited: what an idiot #{status['id']}")
        done.edited[status["id"]] = edit["content"]
    mastodon.publish_delete(fresh[2]["id"])
    done.deleted.append(fresh[2]["id"])


def drive(mastodon: MastodonServerThread, follower: FollowerProcess) -> Published:
    done = Published()
    disruptions = dict(DISRUPTIONS)
    while len(done.ids) < TOTAL:
        count = len(done.ids)
        action = disruptions.pop(count, None)
        if action in ("close", "abort"):
            wait_connected(mastodon)
            mastodon.disconnect_streams(abrupt=action == "abort")
            done.disconnects += 1
        elif action == "stop follower":
            follower.terminate()
        elif action == "start follower":
            follower.wait()
            follower.start()
            done.restarts += 1
        if count in CHANGES:  # it posts five: the count moves on
            change(mastodon, done)
            continue
        post(mastodon, done)
        time.sleep(PACE_S)
    return done


def complete(done: Published) -> Any:
    def check(found: dict[str, list[bytes | None]]) -> bool:
        return all(found.get(i) for i in done.ids) and all(
            found[i][-1] is None for i in done.deleted
        )

    return check


def test_1000_statuses_through_three_disconnects_and_a_restart(
    worker_env: dict[str, str], tmp_path: Path
) -> None:
    with MastodonServerThread() as mastodon:
        token = mastodon.server.add_token("read:statuses")
        env = {**worker_env, "STREAMS_SCORING_BACKEND": "lexicon",
               "STREAMS_HARVESTER_ENABLED": "false",
               "STREAMS_MASTODON_BASE_URL": mastodon.base_url,
               "STREAMS_MASTODON_ACCESS_TOKEN": token.token,
               "STREAMS_MASTODON_STREAMS": "public:remote"}  # fmt: skip
        bootstrap = env["STREAMS_KAFKA_BOOTSTRAP_SERVERS"]
        create_topics(env)
        follower = FollowerProcess(env, tmp_path / "follower.log")
        with WorkerProcess(env, tmp_path / "worker.log"):
            follower.start()
            try:
                wait_connected(mastodon)
                started = time.monotonic()
                done = drive(mastodon, follower)
                elapsed = time.monotonic() - started
                raw = read_topic(bootstrap, env["STREAMS_TOPIC_RAW"], complete(done), 90)
                scored = read_topic(bootstrap, env["STREAMS_TOPIC_SCORED"], complete(done), 90)
            finally:
                follower.stop()
    check(done, raw, scored, elapsed, follower)


def check(done: Published, raw: dict[str, list[bytes | None]],
          scored: dict[str, list[bytes | None]], elapsed: float,
          follower: FollowerProcess) -> None:  # fmt: skip
    missing = [i for i in done.ids if not any(v is not None for v in raw.get(i, []))]
    copies = Counter((key, value) for key, values in raw.items() for value in values if value)
    duplicates = {key: n - 1 for (key, _), n in copies.items() if n > 1}
    records = sum(len(v) for v in raw.values())
    log = follower.log()
    print(f"\nstreaming: {len(done.ids)} statuses sent in {elapsed:.1f}s, "
          f"{len(done.ids) - len(missing)} received, {len(missing)} missing, "
          f"{sum(duplicates.values())} duplicates {sorted(duplicates)[:20]}, "
          f"{records} raw records; {done.disconnects} disconnects, {done.restarts} restart "
          f"(exits {follower.exit_codes}); {len(done.edited)} edits, {len(done.deleted)} deletes; "
          f"follower: {log.count('mastodon: connected to')} connects, "
          f"{log.count('mastodon: backfill since')} backfills")  # fmt: skip
    for line in log.splitlines():
        if "mastodon: streamed" in line or "backfill since" in line:
            print("   ", line.split("] ")[-1])
    assert missing == [], f"{len(missing)} statuses never reached the raw topic"
    assert set(raw) == set(done.ids), "the raw topic holds statuses that were never sent"
    assert (done.disconnects, done.restarts) == (3, 1)
    assert follower.exit_codes == [0, 0]
    for status_id in done.deleted:
        assert raw[status_id][-1] is None and scored[status_id][-1] is None
    for status_id, content in done.edited.items():
        assert json.loads(raw[status_id][-1] or b"")["content"] == content
        versions = [ScoredStatus.model_validate_json(v) for v in scored[status_id] if v]
        assert versions[-1].edited, f"the edit of {status_id} was not scored"
    unscored = [i for i in done.ids if i not in done.deleted and not scored.get(i)]
    assert unscored == []
