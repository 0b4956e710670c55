"""Starts and stops ``streams worker`` processes, and builds their environment: for tests,
benchmarks, chaos runs and the demo."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from streams.errors import StreamsError
from streams.kafka.launcher import free_port
from streams.testing.topics import RunTopics


def as_env(fields: Mapping[str, object]) -> dict[str, str]:
    """Settings fields (``batch_size``) as the worker's variables (``STREAMS_BATCH_SIZE``)."""
    return {f"STREAMS_{name.upper()}": str(value) for name, value in fields.items()}


def worker_env(
    bootstrap: str,
    app_id: str,
    data_dir: Path,
    *,
    topics: RunTopics | None = None,
    partitions: int | None = None,
    fields: Mapping[str, object] | None = None,
) -> dict[str, str]:
    """The environment of a worker on ``bootstrap`` with its own group, state, web port and
    (optionally) topics; ``fields`` are further settings."""
    env = as_env({
        "kafka_bootstrap_servers": bootstrap,
        "app_id": app_id,
        "web_port": free_port(),
        "data_dir": data_dir,
        **(topics.fields() if topics else {}),
        **({"topic_partitions": partitions} if partitions else {}),
        **(fields or {}),
    })  # fmt: skip
    if "STREAMS_OPENAI_API_KEY" in env:
        # The settings read both names: a real key in the parent's environment must never
        # reach a local test server.
        env["OPENAI_API_KEY"] = env["STREAMS_OPENAI_API_KEY"]
    return env


class WorkerProcess:
    """A worker in a child process, configured only through ``STREAMS_*`` variables."""

    def __init__(self, env: Mapping[str, str], log_path: Path, loglevel: str = "info") -> None:
        self.env = {**os.environ, **env}
        self.log_path = log_path
        self.loglevel = loglevel
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def web_url(self) -> str:
        host = self.env.get("STREAMS_WEB_HOST", "127.0.0.1")
        return f"http://{host}:{self.env.get('STREAMS_WEB_PORT', '6066')}"

    def start(self) -> WorkerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "streams.cli", "worker", "-l", self.loglevel],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        return self

    def wait_ready(self, timeout_s: float = 60.0, path: str = "/") -> None:
        """Wait until the worker's web server answers (its app has started)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                with urllib.request.urlopen(self.web_url + path, timeout=1):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        raise StreamsError(f"worker not ready within {timeout_s:.0f} s; log: {self.log_path}")

    def _check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise StreamsError(
                f"worker exited with code {self.proc.returncode}; log: {self.log_path}\n"
                + self.log_tail()
            )

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def signal(self, sig: signal.Signals) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL: a crash, with no chance to commit or flush anything."""
        self.signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()

    def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM, then SIGKILL after ``timeout_s``; returns the exit code."""
        if self.proc is None:
            return 0
        self.signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
