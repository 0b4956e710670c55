"""The topic catalog and `streams topics create` against the real broker."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streams.kafka.admin import describe_topic
from streams.kafka.catalog import catalog, compare
from streams.settings import Settings


def test_catalog_compacts_the_topics_keyed_by_their_latest_state() -> None:
    specs = {s.role: s for s in catalog(Settings())}
    assert set(specs) == {
        "raw", "scored", "dlq", "corrections", "training", "actions", "action_control",
        "calibration",
    }  # fmt: skip
    compacted = {role for role, s in specs.items() if s.cleanup_policy == "compact"}
    assert compacted == {"scored", "training", "actions", "action_control", "calibration"}
    assert specs["action_control"].partitions == 1 and specs["calibration"].partitions == 1
    assert specs["raw"].retention_ms > 0 and specs["dlq"].retention_ms > 0


def test_source_texts_expire_as_the_settings_say() -> None:
    specs = {
        s.role: s for s in catalog(Settings(raw_retention_days=2, corrections_retention_days=30))
    }
    assert specs["raw"].configs()["retention.ms"] == str(2 * 86_400_000)
    assert specs["corrections"].configs()["retention.ms"] == str(30 * 86_400_000)
    specs_by_default = catalog(Settings())
    kept_forever = {s.role for s in specs_by_default if s.retention_ms < 0}
    assert kept_forever == {s.role for s in specs_by_default if s.cleanup_policy == "compact"}


def test_compare_reports_each_difference() -> None:
    spec = next(s for s in catalog(Settings()) if s.role == "scored")
    assert compare(spec, spec.partitions, spec.configs()) == ()
    drift = compare(spec, 1, {"cleanup.policy": "delete", "retention.ms": "-1"})
    assert drift == (
        f"partitions 1, catalog says {spec.partitions}",
        "cleanup.policy=delete, catalog says compact",
    )


def _topic_env(bootstrap: str, unique_name: Callable[[str], str]) -> dict[str, str]:
    return {
        "STREAMS_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        **{f"STREAMS_TOPIC_{r}": unique_name(r.lower()) for r in
           ("RAW", "SCORED", "DLQ", "CORRECTIONS", "TRAINING", "ACTIONS", "ACTION_CONTROL",
            "CALIBRATION")},
    }  # fmt: skip


def _create(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", "topics", "create"],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.broker
def test_create_twice_changes_nothing_the_second_time(
    kafka_bootstrap: str, unique_name: Callable[[str], str]
) -> None:
    env = _topic_env(kafka_bootstrap, unique_name)
    first = _create(env)
    assert first.returncode == 0, first.stderr
    topics = len(catalog(Settings()))
    assert first.stdout.count(": created") == topics == 8
    second = _create(env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.count(": ok") == topics and "created" not in second.stdout

    for var in ("STREAMS_TOPIC_SCORED", "STREAMS_TOPIC_TRAINING"):
        described = asyncio.run(describe_topic(kafka_bootstrap, env[var]))
        assert described is not None
        partitions, configs = described
        assert configs["cleanup.policy"] == "compact"
        assert partitions == Settings().topic_partitions
    raw = asyncio.run(describe_topic(kafka_bootstrap, env["STREAMS_TOPIC_RAW"]))
    assert raw is not None and raw[1]["cleanup.policy"] == "delete"


@pytest.mark.broker
def test_drift_of_an_existing_topic_is_reported(
    kafka_bootstrap: str, unique_name: Callable[[str], str]
) -> None:
    env = _topic_env(kafka_bootstrap, unique_name)

    async def make_wrong_scored_topic() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(env["STREAMS_TOPIC_SCORED"], 2, 1)])
        finally:
            await admin.close()

    asyncio.run(make_wrong_scored_topic())
    result = _create(env)
    assert result.returncode == 1
    line = next(x for x in result.stdout.splitlines() if x.startswith(env["STREAMS_TOPIC_SCORED"]))
    assert "DRIFT" in line and "partitions 2" in line and "cleanup.policy=delete" in line
    assert result.stdout.count(": created") == len(catalog(Settings())) - 1
