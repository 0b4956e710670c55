"""``streams llm serve``: a self-hosted model server on this machine, for scoring with no key."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import click
import faust
from faust.cli import argument, option

from streams.errors import StreamsError
from streams.settings import Settings


def register(app: faust.App, settings: Settings) -> None:
    @app.command(
        argument("action", type=click.Choice(["serve"])),
        option("--model", "model", type=click.Path(path_type=Path, dir_okay=False), required=True,
               help="The model file (.gguf)."),
        option("--port", type=int, default=8080, show_default=True, help="Port on 127.0.0.1."),
        option("--context", "context_tokens", type=int, default=8192, show_default=True,
               help="Context window in tokens: room for a batch of posts and the reply."),
        option("--threads", type=int, default=None,
               help="CPU threads (default: llama.cpp's choice, the physical cores)."),
    )  # fmt: skip
    async def llm(
        self: object,
        action: str,
        model: Path,
        port: int,
        context_tokens: int,
        threads: int | None,
    ) -> None:
        """Start llama.cpp's OpenAI-compatible server on loopback for a GGUF model.

        It listens on 127.0.0.1 only and takes a fresh API key, which it prints with the other
        settings that point a worker at it; the worker then detects which response formats it
        takes. Stop it with Ctrl-C. Needs the optional extra: pip install -e '.[local]' (see
        the README for the build flags these CPUs need). For a GPU, vLLM or Ollama serve the
        same API: point STREAMS_OPENAI_BASE_URL at them instead.
        """
        from streams.selfhost.llama_cpp import LlamaServer, ServerConfig

        config = ServerConfig(model=model, port=port, context_tokens=context_tokens,
                              threads=threads)  # fmt: skip
        server = LlamaServer(config)
        try:
            print(f"loading {model} ...", file=sys.stderr)
            server.start()
        except StreamsError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)
        print(f"llama.cpp's server answers at {config.base_url}; point a worker at it with:")
        for name, value in config.worker_settings().items():
            print(f"export {name}={value}")
        sys.stdout.flush()

        def interrupted(signum: int, frame: object) -> None:
            raise KeyboardInterrupt

        # The wait below blocks the event loop, so the loop's own handlers would never run.
        signal.signal(signal.SIGTERM, interrupted)
        signal.signal(signal.SIGINT, interrupted)
        try:
            code = server.wait()
        except KeyboardInterrupt:
            code = 0
        finally:
            server.stop()
        if code:
            sys.exit(code)
