"""The one small interface every scoring backend implements, and the offline lexicon backend."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from streams.llm import lexicon
from streams.llm.prompt import PostToScore
from streams.llm.reply import ItemResult, ScoredItem


@dataclass(frozen=True)
class TokenUsage:
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            self.input_tokens + other.input_tokens,
            self.cached_input_tokens + other.cached_input_tokens,
            self.output_tokens + other.output_tokens,
        )


@dataclass(frozen=True)
class BatchScores:
    """What one backend call gave: a result per status id (scores, or why there are none)."""

    results: Mapping[str, ItemResult]
    usage: TokenUsage = field(default_factory=TokenUsage)
    cost_usd: float = 0.0
    llm_ms: float = 0.0
    calls: int = 1


class ScoringBackend(Protocol):
    """Scores a batch of posts. Raises LLMUnavailableError when the endpoint did not answer
    (after the backend's own retries), RetriableLLMError when it refused this request, and
    FatalLLMError when no retry can help (bad key, unknown model)."""

    name: str
    model: str
    prompt_version: str

    async def score_batch(self, posts: Sequence[PostToScore]) -> BatchScores: ...

    async def probe(self) -> None:
        """One cheap real request: returns when the endpoint answers, raises as score_batch."""
        ...

    async def close(self) -> None: ...


class LexiconBackend:
    """Offline word and phrase lists: a cheap baseline and the demo's backend without a key."""

    name = "lexicon"
    model = lexicon.MODEL
    prompt_version = "none"

    async def score_batch(self, posts: Sequence[PostToScore]) -> BatchScores:
        started = time.perf_counter()
        results: dict[str, ItemResult] = {
            post.status_id: ScoredItem(post.status_id, lexicon.score_text(post.text))
            for post in posts
        }
        return BatchScores(results, llm_ms=(time.perf_counter() - started) * 1000)

    async def probe(self) -> None:
        return None

    async def close(self) -> None:
        return None


def response_format_of(backend: ScoringBackend) -> str | None:
    """How ``backend`` asks its endpoint for JSON now (its capability mode), or None for a
    backend that has no endpoint (the lexicon)."""
    mode = getattr(backend, "mode", None)
    return mode if isinstance(mode, str) else None
