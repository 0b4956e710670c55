"""Scores posts that may be longer than one LLM item: their chunks go out as items, and each
post comes back with each category's maximum over its chunks (``streams.llm.chunks``).

No Kafka here. A post is scored only when every one of its chunks was: one chunk left without
scores leaves the post unscored, with that chunk's reason, so no part of a post is skipped
silently.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from streams.llm.chunks import chunk_sections, merge_max, windows
from streams.llm.prompt import PostToScore
from streams.llm.reply import ScoredItem
from streams.models.status import StatusToScore, status_sections
from streams.scoring.attempts import ScoringRun, Unscored, score_with_attempts
from streams.scoring.backend import ScoringBackend
from streams.scoring.breaker import Breaker
from streams.scoring.repeat_cache import text_key


@dataclass(frozen=True)
class ChunkedPost:
    """One post to score: its text key and the items (one per chunk) that score it."""

    key: str
    chunks: tuple[PostToScore, ...]


def plan_post(key: str, item: StatusToScore, max_chars: int) -> ChunkedPost:
    """``item`` (keyed ``key``) as items of at most ``max_chars`` characters: itself when its
    text fits, else its chunks, each keyed by its own text's hash."""
    if len(item.text) <= max_chars:
        return ChunkedPost(key, (PostToScore(key, item.text, item.language),))
    texts = chunk_sections(status_sections(item.status), max_chars)
    chunks = {text_key(text): text for text in texts}
    return ChunkedPost(
        key, tuple(PostToScore(k, text, item.language) for k, text in chunks.items())
    )


def plan_text(key: str, text: str, language: str | None, max_chars: int) -> ChunkedPost:
    """A plain text (an evaluation case, whose sections are not known) as items of at most
    ``max_chars``: itself when it fits, else overlapping windows of it."""
    if len(text) <= max_chars:
        return ChunkedPost(key, (PostToScore(key, text, language),))
    chunks = {text_key(chunk): chunk for chunk in windows(text, max_chars)}
    return ChunkedPost(key, tuple(PostToScore(k, t, language) for k, t in chunks.items()))


async def score_chunked(
    backend: ScoringBackend,
    posts: Sequence[ChunkedPost],
    max_attempts: int,
    items_per_call: int,
    breaker: Breaker | None = None,
) -> ScoringRun:
    """Score ``posts`` by their chunks, at most ``items_per_call`` items a request; the run
    is keyed by post key, as if each post had been one item."""
    if all(post.chunks == (post.chunks[0],) and post.chunks[0].status_id == post.key
           for post in posts):  # fmt: skip
        # Nothing was chunked: one request, exactly as without chunking.
        return await score_with_attempts(
            backend, [p.chunks[0] for p in posts], max_attempts, breaker
        )
    ordered = list({chunk.status_id: chunk for post in posts for chunk in post.chunks}.values())
    size = max(1, items_per_call)
    groups = [ordered[i : i + size] for i in range(0, len(ordered), size)]
    runs = await asyncio.gather(
        *(score_with_attempts(backend, g, max_attempts, breaker) for g in groups)
    )
    return fold_chunk_runs(posts, runs)


def fold_chunk_runs(posts: Sequence[ChunkedPost], runs: Sequence[ScoringRun]) -> ScoringRun:
    """The item-level ``runs`` as one run keyed by post: a post is scored with the maximum of
    its chunks when all were scored, else unscored with the first failed chunk's reason."""
    total = ScoringRun()
    scored: dict[str, ScoredItem] = {}
    unscored: dict[str, Unscored] = {}
    for run in runs:
        scored.update(run.scored)
        unscored.update(run.unscored)
        total.usage = total.usage + run.usage
        total.cost_usd += run.cost_usd
        total.llm_ms = max(total.llm_ms, run.llm_ms)  # the requests ran side by side
        total.calls += run.calls
        total.retried_posts += run.retried_posts
    for post in posts:
        missing = [c.status_id for c in post.chunks if c.status_id not in scored]
        if missing:
            first = unscored.get(missing[0]) or Unscored(
                missing[0], "item_missing", "no result for a chunk", 0, datetime.now(UTC)
            )
            total.unscored[post.key] = replace(first, status_id=post.key)
        else:
            merged = merge_max(scored[c.status_id].scores for c in post.chunks)
            total.scored[post.key] = ScoredItem(post.key, merged)
    return total
