"""Shared fixtures: a real Kafka broker once per session, unique names per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from streams.kafka import launcher as kafka_launcher
from streams.settings import KAFKA_VERSION, Settings
from streams.testing.llm_server.process import LocalLLMProcess
from streams.testing.topics import ROLES, RunTopics
from streams.testing.workers import worker_env as make_worker_env

# Property tests are judged on what they find, not on how fast a loaded 2-core CI machine
# runs one example: the default 200 ms deadline made them flaky there.
hypothesis_settings.register_profile("streams", deadline=None)
hypothesis_settings.load_profile("streams")

#: How the session's broker was provided, for the summary at the end of the run.
BROKER_SOURCE: list[str] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say which real broker the broker tests ran against, and how many ran."""
    stats = terminalreporter.stats
    broker_tests = {
        outcome: sum(1 for r in stats.get(outcome, []) if "broker" in getattr(r, "keywords", {}))
        for outcome in ("passed", "failed", "skipped", "error")
    }
    source = BROKER_SOURCE[0] if BROKER_SOURCE else "not started (no broker test selected)"
    terminalreporter.write_line(
        f"kafka broker: {source}; broker tests: {broker_tests['passed']} passed, "
        f"{broker_tests['failed']} failed, {broker_tests['skipped']} skipped, "
        f"{broker_tests['error']} errors"
    )


def _docker_engine_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """A real broker: KAFKA_BOOTSTRAP_SERVERS if set, else testcontainers, else the launcher."""
    given = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if given:
        BROKER_SOURCE.append(f"KAFKA_BOOTSTRAP_SERVERS={given}")
        yield given
        return
    if _docker_engine_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer(f"apache/kafka:{KAFKA_VERSION}").with_kraft() as container:
            bootstrap = container.get_bootstrap_server()
            BROKER_SOURCE.append(f"testcontainers apache/kafka:{KAFKA_VERSION} at {bootstrap}")
            yield bootstrap
        return
    settings = Settings()
    with kafka_launcher.running_broker(
        cache_dir=settings.cache_dir, version=KAFKA_VERSION, heap="768m"
    ) as handle:
        BROKER_SOURCE.append(f"launched Apache Kafka {KAFKA_VERSION} at {handle.bootstrap}")
        yield handle.bootstrap


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Topic and group names no other test (or earlier run) uses."""
    test = request.node.name.replace("[", "-").replace("]", "")[:40]

    def make(prefix: str) -> str:
        return f"{prefix}.{test}.{uuid.uuid4().hex[:8]}"

    return make


@pytest.fixture
def run_topics(unique_name: Callable[[str], str]) -> RunTopics:
    """The five topics of a worker, under names no other test uses."""
    return RunTopics(*(unique_name(role) for role in ROLES))


@pytest.fixture
def worker_env(
    kafka_bootstrap: str, tmp_path: Path, unique_name: Callable[[str], str], run_topics: RunTopics
) -> dict[str, str]:
    """Environment of a worker on the session's broker: its own group, state dir and topics."""
    return make_worker_env(
        kafka_bootstrap, unique_name("app"), tmp_path / "worker-data", topics=run_topics,
        partitions=3,
        # A killed worker's partitions move to its successor after the session timeout.
        fields={"broker_commit_interval_s": 0.5, "broker_session_timeout_s": 10},
    )  # fmt: skip


@pytest.fixture
def local_llm(tmp_path: Path) -> Iterator[Callable[..., LocalLLMProcess]]:
    """Starts the local OpenAI-compatible server in a child process, stopped after the test.

    Call it with the server's faults and limits: ``fault_rate``, ``seed``, ``latency_ms``,
    ``api_key``, ``rpm_limit``, ``tpm_limit``, and ``hang_s`` (how long a timeout fault
    hangs). Its ``worker_fields()`` point a worker at it.
    """
    started: list[LocalLLMProcess] = []

    def start(*, hang_s: float | None = None, **options: Any) -> LocalLLMProcess:
        llm = LocalLLMProcess(tmp_path / f"llm{len(started)}.log", **options).start()
        started.append(llm)
        if hang_s is not None:
            llm.set_faults(hang_s=hang_s)
        return llm

    yield start
    for llm in started:
        llm.stop()
