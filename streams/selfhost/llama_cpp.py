"""llama.cpp's OpenAI-compatible server (``llama-cpp-python[server]``) on loopback.

``streams llm serve`` and the tests start it the same way: bound to 127.0.0.1, with an API key
of its own (the server then refuses requests without it), a context sized for a batch of posts,
and a name the worker asks for as its model. Build the package with portable CPU flags on
machines whose CPUs differ from the build machine's (see the README): a native build can crash
on the first token.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from streams.errors import StreamsError

#: What the worker asks for as ``STREAMS_OPENAI_MODEL``; the server answers to this name.
DEFAULT_ALIAS = "local-gguf"

PORTABLE_CMAKE_ARGS = (
    "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
)

INSTALL_HINT = (
    f"install it with: CMAKE_ARGS=\"{PORTABLE_CMAKE_ARGS}\" pip install -e '.[local]' "
    "(the flags build for any AVX2 CPU; a native build can crash on other CPUs)"
)


@dataclass(frozen=True)
class ServerConfig:
    model: Path
    port: int = 8080
    host: str = "127.0.0.1"
    context_tokens: int = 8192
    threads: int | None = None
    alias: str = DEFAULT_ALIAS
    api_key: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def command(self) -> list[str]:
        """The server's command line."""
        args = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(self.model), "--model_alias", self.alias,
            "--host", self.host, "--port", str(self.port),
            "--n_ctx", str(self.context_tokens), "--api_key", self.api_key,
        ]  # fmt: skip
        if self.threads:
            args += ["--n_threads", str(self.threads)]
        return args

    def worker_settings(self) -> dict[str, str]:
        """The settings that point a worker at this server."""
        return {
            "STREAMS_SCORING_BACKEND": "openai",
            "STREAMS_OPENAI_BASE_URL": self.base_url,
            "OPENAI_API_KEY": self.api_key,
            "STREAMS_OPENAI_MODEL": self.alias,
        }


def check_installed() -> None:
    if importlib.util.find_spec("llama_cpp") is None:
        raise StreamsError(f"llama-cpp-python is not installed: {INSTALL_HINT}")


def check_model(model: Path) -> None:
    if not model.is_file():
        raise StreamsError(f"model file {model} not found: give the path of a .gguf file")
    with model.open("rb") as f:
        if f.read(4) != b"GGUF":
            raise StreamsError(f"{model} is not a GGUF model file (llama.cpp reads only GGUF)")


def _answers(config: ServerConfig) -> bool:
    request = urllib.request.Request(
        config.base_url + "/models", headers={"Authorization": f"Bearer {config.api_key}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class LlamaServer:
    """The server in a child process; a context manager that stops it on exit."""

    def __init__(self, config: ServerConfig, log_path: Path | None = None) -> None:
        self.config = config
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 120.0) -> LlamaServer:
        check_installed()
        check_model(self.config.model)
        out = self.log_path.open("ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            self.config.command(), stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while not _answers(self.config):
            if self.proc.poll() is not None:
                raise StreamsError(
                    f"llama.cpp's server exited with code {self.proc.returncode} while loading "
                    f"{self.config.model}" + (f"; log: {self.log_path}" if self.log_path else "")
                )
            if time.monotonic() > deadline:
                self.stop()
                raise StreamsError(f"llama.cpp's server did not answer within {timeout_s:.0f} s")
            time.sleep(0.5)
        return self

    def wait(self) -> int:
        assert self.proc is not None
        return self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
