"""What the Mastodon end-to-end tests share: a worker's metrics, plain HTTP posts, topics read by
key, and the follower as a child process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from kafka_io import Read, read_until
from prometheus_client.parser import text_string_to_metric_families

from streams.testing.workers import WorkerProcess

#: Mastodon's webhook secrets are SecureRandom.hex(20).
SECRET = "5e0f4a1c9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f"


def scrape(worker: WorkerProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the worker's /metrics: (name, sorted labels) -> value."""
    with urllib.request.urlopen(worker.web_url + "/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def webhooks_counted(worker: WorkerProcess) -> dict[tuple[str, str], float]:
    """``streams_mastodon_webhooks_total`` by (event, outcome)."""
    return {
        (dict(labels)["event"], dict(labels)["outcome"]): value
        for (name, labels), value in scrape(worker).items()
        if name == "streams_mastodon_webhooks_total"
    }


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def by_key(records: list[Read]) -> dict[str, list[bytes | None]]:
    """Values per key, in the order the topic holds them (per partition)."""
    found: dict[str, list[bytes | None]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        if record.key is not None:
            found[record.key.decode()].append(record.value)
    return found


def read_topic(
    bootstrap: str, topic: str, done: Callable[[dict[str, list[bytes | None]]], bool],
    timeout_s: float = 60.0,
) -> dict[str, list[bytes | None]]:  # fmt: skip
    """``topic`` from the start, by key, until ``done`` says so (or the timeout)."""
    records = asyncio.run(read_until(bootstrap, [topic], lambda rs: done(by_key(rs)), timeout_s))
    return by_key(records)


class FollowerProcess:
    """``streams ingest mastodon`` in a child process, as an operator runs it."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = {**os.environ, **env}
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.exit_codes: list[int] = []

    def start(self) -> FollowerProcess:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "streams.cli", "-l", "info", "ingest", "mastodon"],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        return self

    def terminate(self) -> None:
        """SIGTERM, without waiting: statuses keep coming while it shuts down."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout_s: float = 30.0) -> None:
        if self.proc is not None:
            try:
                self.exit_codes.append(self.proc.wait(timeout_s))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.exit_codes.append(self.proc.wait())
            self.proc = None

    def stop(self) -> None:
        self.terminate()
        self.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")
