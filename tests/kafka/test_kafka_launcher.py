"""The broker launcher: pure parts as functions, the rest against a real broker process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from streams.errors import MissingToolError, PortInUseError
from streams.kafka import jars as kafka_jars
from streams.kafka import launcher
from streams.settings import KAFKA_VERSION, Settings


def test_cluster_id_is_kafka_uuid_form() -> None:
    ids = {launcher.random_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    for cid in ids:
        assert len(cid) == 22 and not cid.startswith("-")


def test_server_properties_single_node_kraft(tmp_path: Path) -> None:
    text = launcher.server_properties(tmp_path, 19092, 19093)
    props = dict(line.split("=", 1) for line in text.splitlines())
    assert props["process.roles"] == "broker,controller"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["log.dirs"] == str(tmp_path / "log")


def test_port_in_use_names_the_fix() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        expected = rf"port {port} on 127.0.0.1 is already in use.*--port N"
        with pytest.raises(PortInUseError, match=expected):
            launcher.check_port_free("127.0.0.1", port)


def test_missing_tool_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(MissingToolError, match="`java` was not found on PATH: install a Java"):
        kafka_jars.require_tool("java", "install a Java 17+ runtime")


def _streams(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_cli_without_java_gives_one_line_error(tmp_path: Path) -> None:
    result = _streams(
        ["kafka", "up", "--port", "0"],
        {"PATH": str(tmp_path), "STREAMS_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "error: `java` was not found on PATH: install a Java 17+ runtime "
        "(e.g. `apt-get install openjdk-17-jre-headless`)"
    ]


@pytest.mark.broker
def test_cli_up_status_down(tmp_path: Path) -> None:
    # An own cache dir (own state file) that reuses the session's jars.
    real_jars = kafka_jars.ensure_jars(Settings().cache_dir, KAFKA_VERSION)
    cache = tmp_path / "cache"
    jars = kafka_jars.jars_dir(cache, KAFKA_VERSION)
    jars.parent.mkdir(parents=True)
    jars.symlink_to(real_jars)
    env = {"STREAMS_CACHE_DIR": str(cache)}

    up = _streams(["kafka", "up", "--port", "0"], env)
    assert up.returncode == 0, up.stderr
    bootstrap = up.stdout.strip()
    assert bootstrap.startswith("127.0.0.1:")
    try:
        assert launcher.broker_answers(bootstrap)
        status = _streams(["kafka", "status"], env)
        assert status.returncode == 0 and status.stdout.startswith(f"up: {bootstrap}")
        again = _streams(["kafka", "up", "--port", "0"], env)
        assert again.returncode == 0 and "already running" in again.stderr
        assert again.stdout.strip() == bootstrap
    finally:
        down = _streams(["kafka", "down"], env)
    assert down.returncode == 0 and "stopped" in down.stdout
    assert not launcher.broker_answers(bootstrap, timeout_s=1)
    status = _streams(["kafka", "status"], env)
    assert status.returncode == 1 and status.stdout.startswith("down")


def test_help_explains_commands() -> None:
    top = _streams(["--help"], {})
    assert top.returncode == 0 and "Kafka-native content moderation" in top.stdout
    kafka = _streams(["kafka", "--help"], {})
    assert kafka.returncode == 0
    for word in ("up", "down", "status", "fetch", "STREAMS_KAFKA_PORT"):
        assert word in kafka.stdout
