"""A deleted post stays deleted: through the real broker, two worker runs and the commands.

Post S carries a secret; corrections with the secret, a boost of S, then S's erasure on
request, then a late correction with the secret and another boost, then a restart. Afterwards
the secret must be in no latest record of any topic but the raw and corrections topics' own
history (changelogs included), in no file of the data and harvest directories, in no export
and in no HTTP response, and the training topic's last record for S is a tombstone.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from kafka_io import Read, create_topics, produce, produce_statuses, read_until, status

from streams.harvest.export import latest_per_key
from streams.testing.workers import WorkerProcess

pytestmark = pytest.mark.broker

S = "9001"


def _correction(cid: str, source: str, text: str | None) -> tuple[bytes, bytes]:
    body = {
        "correction_id": cid, "status_id": S, "feedback_type": "false_negative",
        "expected_categories": ["insult"], "source": source,
        "timestamp": "2026-11-01T12:00:00Z", "text": text,
    }  # fmt: skip
    return S.encode(), json.dumps(body).encode()


def _boost(boost_id: int, secret: str) -> dict[str, object]:
    return status(boost_id, "", reblog=status(int(S), f"origineel {secret}"))


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args], env={**os.environ, **env},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


async def _project_topics(bootstrap: str, env: dict[str, str]) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = await admin.list_topics()
    finally:
        await admin.close()
    ours = {
        v
        for k, v in env.items()
        if k.startswith("STREAMS_TOPIC_") and k != "STREAMS_TOPIC_PARTITIONS"
    }
    return sorted(n for n in names if n in ours or n.startswith(env["STREAMS_APP_ID"]))


def _http_get(url: str, token: str) -> bytes:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return bytes(response.read())


def _wait_for(bootstrap: str, topic: str, done: object, timeout_s: float = 40) -> list[Read]:
    return asyncio.run(read_until(bootstrap, [topic], done, timeout_s))  # type: ignore[arg-type]


def test_an_erased_post_stays_erased(worker_env: dict[str, str], tmp_path: Path) -> None:
    secret = f"geheim-{uuid.uuid4().hex}"
    token = "privacy-test-token-0123456789abcdef"
    harvest_dir = tmp_path / "harvest"
    env = {
        **worker_env, "STREAMS_HARVEST_DIR": str(harvest_dir), "STREAMS_API_TOKEN": token,
        "STREAMS_HARVEST_FLUSH_INTERVAL_S": "0.2", "STREAMS_TEXT_WAIT_S": "30",
    }  # fmt: skip
    create_topics(env)
    bootstrap = env["STREAMS_KAFKA_BOOTSTRAP_SERVERS"]
    raw, training = env["STREAMS_TOPIC_RAW"], env["STREAMS_TOPIC_TRAINING"]
    corrections = env["STREAMS_TOPIC_CORRECTIONS"]

    produce_statuses(bootstrap, raw, [status(int(S), f"origineel {secret}"), _boost(9002, secret)])
    asyncio.run(produce(bootstrap, corrections, [
        _correction("c1", "user_report", f"gemeld {secret}"),
        _correction("c2", "admin_override", None),
    ]))  # fmt: skip
    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        worker.wait_ready()
        examples = _wait_for(bootstrap, training, lambda rs: any(r.key == S.encode() for r in rs))
        assert any(secret.encode() in (r.value or b"") for r in examples), "no example built"
        _until(lambda: any(secret.encode() in p.read_bytes() for p in harvest_dir.glob("*.jsonl")))

        erased = _cli(env, "harvest", "erase", S, "--wait", "40")
        assert erased.returncode == 0, erased.stdout + erased.stderr
        assert "tombstoned by the harvester" in erased.stdout
        assert "JSONL lines left here: 0" in erased.stdout

        # Late arrivals for the erased post: a correction with its text, another boost.
        asyncio.run(
            produce(bootstrap, corrections, [_correction("c3", "appeal", f"laat {secret}")])
        )
        produce_statuses(bootstrap, raw, [_boost(9003, secret)])
        _wait_for_ignored(worker.web_url, token)
    with WorkerProcess(env, tmp_path / "worker-restarted.log") as worker:
        worker.wait_ready()
        responses = [
            _http_get(worker.web_url + path, token)
            for path in ("/metrics", "/api/feedback/summary")
        ]
    asyncio.run(asyncio.sleep(1))

    leaks = _latest_records_with(bootstrap, env, secret.encode(), skip={raw, corrections})
    assert leaks == [], leaks
    files = [p for p in tmp_path.rglob("*") if p.is_file() and not p.name.endswith(".log")]
    assert files and [p for p in files if secret.encode() in p.read_bytes()] == []
    assert all(secret.encode() not in body for body in responses)
    latest, _ = asyncio.run(latest_per_key(bootstrap, training))
    assert S in latest and latest[S] is None

    out = tmp_path / "export.jsonl"
    exported = _cli(env, "harvest", "export", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert secret.encode() not in out.read_bytes() and f'"{S}"'.encode() not in out.read_bytes()


def _until(done: Callable[[], bool], timeout_s: float = 40) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)


def _wait_for_ignored(web_url: str, token: str) -> None:
    """Until the harvester counted both late records as ignored: the correction of the erased
    post, and the second boost (a boost is keyed by its own id, so it is ignored as a boost,
    as the first one was: the boosted post's own record brings its text)."""

    def counted(reason: str) -> float:
        body = _http_get(web_url + "/metrics", token).decode()
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in body.splitlines()
            if line.startswith("streams_harvest_ignored_total{") and f'"{reason}"' in line
        )

    _until(lambda: counted("erased_post") >= 1 and counted("boost") >= 2)


def _latest_records_with(
    bootstrap: str, env: dict[str, str], needle: bytes, skip: set[str]
) -> list[str]:
    topics = asyncio.run(_project_topics(bootstrap, env))
    assert any("changelog" in t for t in topics), topics
    found = []
    for topic in topics:
        if topic in skip:
            continue
        latest, _ = asyncio.run(latest_per_key(bootstrap, topic))
        found += [f"{topic} key {k}" for k, v in latest.items() if v and needle in v]
    return found
