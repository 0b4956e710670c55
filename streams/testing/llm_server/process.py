"""Runs the local OpenAI-compatible server (``streams.testing.llm_server.server``) in a
child process.

For tests, benchmarks and chaos runs that drive a real worker process against it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from streams.errors import StreamsError
from streams.kafka.launcher import free_port

#: The local server accepts any key unless started with one; the client only needs one set.
DUMMY_API_KEY: Final = "local-server-dummy-key"


def client_timeout_s(latency_ms: float) -> float:
    """An LLM client timeout that the server's added latency does not trip."""
    return max(5.0, 3 * latency_ms / 1000 + 2)


class LocalLLMProcess:
    """The local server in a child process: faults, latency, an API key and rate limits are
    set at start; faults can change while it runs (:meth:`set_faults`)."""

    def __init__(
        self,
        log_path: Path,
        *,
        fault_rate: float = 0.0,
        latency_ms: float = 0.0,
        seed: int = 0,
        api_key: str | None = None,
        rpm_limit: int | None = None,
        tpm_limit: int | None = None,
    ) -> None:
        self.port = free_port()
        self.log_path = log_path
        args = ["--port", str(self.port), "--fault-rate", str(fault_rate),
                "--latency-ms", str(latency_ms), "--seed", str(seed)]  # fmt: skip
        if api_key:
            args += ["--api-key", api_key]
        if rpm_limit is not None:
            args += ["--rpm-limit", str(rpm_limit)]
        if tpm_limit is not None:
            args += ["--tpm-limit", str(tpm_limit)]
        self.args = args
        self.api_key = api_key or DUMMY_API_KEY
        self.latency_ms = latency_ms
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return self.root + "/v1"

    def worker_fields(self, timeout_s: float | None = None) -> dict[str, str]:
        """Settings that make a worker score with this server: every post really goes to it
        (repeat cache off), with quick retries and budgets that never bind."""
        timeout = client_timeout_s(self.latency_ms) if timeout_s is None else timeout_s
        return {
            "scoring_backend": "openai",
            "openai_base_url": self.base_url,
            "openai_api_key": self.api_key,
            "openai_timeout_s": str(timeout),
            "openai_backoff_s": "0.05",
            "openai_backoff_max_s": "0.5",
            "openai_max_retries": "4",
            "openai_requests_per_minute": "1000000",
            "openai_tokens_per_minute": "1000000000",
            "max_attempts": "4",
            "content_cache_size": "0",
        }

    def start(self, timeout_s: float = 30.0) -> LocalLLMProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "streams.testing.llm_server.server", *self.args],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StreamsError(f"local LLM server exited; log: {self.log_path}")
            try:
                self.stats()
                return self
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        raise StreamsError(f"local LLM server not ready in {timeout_s:.0f} s; log: {self.log_path}")

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.root + path, data=data, method=method,
            headers={"content-type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read() or b"null")

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/_stats")
        return result

    def set_faults(self, **changes: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/_faults", changes)
        return result

    def start_outage(self, seconds: float, kind: str = "unavailable") -> dict[str, Any]:
        """Every request fails with ``kind`` (a FaultKind value) for ``seconds`` from now."""
        return self.set_faults(outage_kind=kind, outage_s=seconds)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> LocalLLMProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        self.stop()
