"""Starts and stops ``streams worker`` processes: for tests, benchmarks and the demo."""

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
