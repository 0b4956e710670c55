"""Asks again for the posts a reply left unscored, alone if need be, until attempts run out.

A post without valid scores is never given zeros: after the last attempt it comes back as
:class:`Unscored` with the reason, for the dead-letter topic.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from streams.errors import RetriableLLMError
from streams.llm.prompt import PostToScore
from streams.llm.reply import FailedItem, ScoredItem
from streams.scoring.backend import BatchScores, ScoringBackend, TokenUsage


@dataclass(frozen=True)
class Unscored:
    status_id: str
    reason: str
    detail: str
    attempts: int
    first_failure_at: datetime


@dataclass
class ScoringRun:
    """Everything the attempts for one batch gave."""

    scored: dict[str, ScoredItem] = field(default_factory=dict)
    unscored: dict[str, Unscored] = field(default_factory=dict)
    usage: TokenUsage = field(default_factory=TokenUsage)
    cost_usd: float = 0.0
    llm_ms: float = 0.0
    calls: int = 0
    #: Posts asked again after a failed first attempt.
    retried_posts: int = 0


def groups_for_attempt(attempt: int, pending: Sequence[PostToScore]) -> list[list[PostToScore]]:
    """First the whole batch, then the failed posts together once, then each alone.

    One malformed item usually spoils only itself, so asking the failed posts again together
    is cheap; alone is the last resort, so a post that keeps breaking the reply cannot take
    others down with it.
    """
    if attempt <= 2 and len(pending) > 1:
        return [list(pending)]
    return [[post] for post in pending]


async def _call(
    backend: ScoringBackend, group: list[PostToScore]
) -> BatchScores | RetriableLLMError:
    try:
        return await backend.score_batch(group)
    except RetriableLLMError as exc:
        return exc


async def score_with_attempts(
    backend: ScoringBackend, posts: Sequence[PostToScore], max_attempts: int
) -> ScoringRun:
    """Score ``posts``; FatalLLMError propagates (no retry can help, the worker must stop)."""
    run = ScoringRun()
    first_failure: dict[str, datetime] = {}
    last_failure: dict[str, tuple[str, str]] = {}
    pending: list[PostToScore] = list(posts)
    attempt = 0
    while pending and attempt < max_attempts:
        attempt += 1
        if attempt > 1:
            run.retried_posts += len(pending)
        groups = groups_for_attempt(attempt, pending)
        outcomes = await asyncio.gather(*(_call(backend, g) for g in groups))
        failed: list[PostToScore] = []
        for group, outcome in zip(groups, outcomes, strict=True):
            if isinstance(outcome, RetriableLLMError):
                run.calls += 1
                failures = {p.status_id: ("llm_unavailable", str(outcome)) for p in group}
            else:
                run.usage = run.usage + outcome.usage
                run.cost_usd += outcome.cost_usd
                run.llm_ms += outcome.llm_ms
                run.calls += outcome.calls
                failures = {}
                for post in group:
                    result = outcome.results.get(post.status_id)
                    if isinstance(result, ScoredItem):
                        run.scored[post.status_id] = result
                    elif isinstance(result, FailedItem):
                        failures[post.status_id] = (str(result.reason), result.detail)
                    else:
                        failures[post.status_id] = ("item_missing", "backend gave no result")
            for post in group:
                if post.status_id in failures:
                    first_failure.setdefault(post.status_id, datetime.now(UTC))
                    last_failure[post.status_id] = failures[post.status_id]
                    failed.append(post)
        pending = failed
    for post in pending:
        reason, detail = last_failure[post.status_id]
        run.unscored[post.status_id] = Unscored(
            post.status_id, reason, detail, attempt, first_failure[post.status_id]
        )
    return run
