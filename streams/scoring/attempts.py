"""Asks again for the posts a reply left unscored, alone if need be, until attempts run out.

A post without valid scores is never given zeros: after the last attempt it comes back as
:class:`Unscored` with the reason, for the dead-letter topic.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from streams.errors import LLMUnavailableError, RetriableLLMError
from streams.llm.prompt import PostToScore
from streams.llm.reply import FailedItem, ScoredItem
from streams.scoring.backend import BatchScores, ScoringBackend, TokenUsage
from streams.scoring.breaker import Breaker


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

    def add(self, other: ScoringRun) -> None:
        self.scored.update(other.scored)
        self.unscored.update(other.unscored)
        self.usage = self.usage + other.usage
        self.cost_usd += other.cost_usd
        self.llm_ms += other.llm_ms
        self.calls += other.calls
        self.retried_posts += other.retried_posts


#: Failures no request causes by itself: they never cost a post an attempt.
_NEVER_THE_REQUESTS = frozenset({"connection_error", "insufficient_quota"})


def _reason(error: RetriableLLMError) -> str:
    """The dead-letter reason of a whole call that failed."""
    return "llm_unavailable" if isinstance(error, LLMUnavailableError) else "request_rejected"


def groups_for_attempt(attempt: int, pending: Sequence[PostToScore]) -> list[list[PostToScore]]:
    """First the whole batch, then the failed posts together once, then each alone.

    One malformed item usually spoils only itself, so asking the failed posts again together
    is cheap; alone is the last resort, so a post that keeps breaking the reply cannot take
    others down with it.
    """
    if attempt <= 2 and len(pending) > 1:
        return [list(pending)]
    return [[post] for post in pending]


Outcome = tuple[list[PostToScore], BatchScores | RetriableLLMError]


async def _call(
    backend: ScoringBackend, group: list[PostToScore], breaker: Breaker | None, run: ScoringRun
) -> list[Outcome]:
    """One group's call, with what it gave for which posts.

    With a breaker, a call that finds the endpoint unavailable waits until it answers again
    and is made again, costing its posts no attempt. Unless the endpoint answered others
    since this call last failed: when other calls got answers, or a probe did and this is a
    single post, the failure is the request's own (a post the server chokes on) and counts,
    so such a post ends up dead-lettered instead of holding the classifier forever; when only
    a probe got an answer, the group's posts are tried alone to find out.
    """
    seen: tuple[int, int] | None = None
    while True:
        if breaker is not None:
            await breaker.wait_available()
        try:
            outcome = await backend.score_batch(group)
        except LLMUnavailableError as exc:
            run.calls += 1
            if breaker is None:
                return [(group, exc)]
            breaker.call_failed(exc)
            if seen is not None and exc.reason not in _NEVER_THE_REQUESTS:
                calls_answered = breaker.call_answers > seen[0]
                probe_answered = breaker.probe_answers > seen[1]
                if calls_answered or (probe_answered and len(group) == 1):
                    return [(group, exc)]
                if probe_answered:
                    alone = await asyncio.gather(
                        *(_call(backend, [p], breaker, run) for p in group)
                    )
                    return [outcome for outcomes in alone for outcome in outcomes]
            seen = (breaker.call_answers, breaker.probe_answers)
            continue
        except RetriableLLMError as exc:
            run.calls += 1
            if breaker is not None:
                breaker.call_answered()  # it refused this request: it is there
            return [(group, exc)]
        if breaker is not None:
            breaker.call_answered()
        return [(group, outcome)]


async def score_with_attempts(
    backend: ScoringBackend,
    posts: Sequence[PostToScore],
    max_attempts: int,
    breaker: Breaker | None = None,
) -> ScoringRun:
    """Score ``posts``; FatalLLMError propagates (no retry can help, the worker must stop).

    Without a breaker (``streams eval``) a call that finds the endpoint unavailable is a failed
    attempt of its posts; with one (the classifier) it waits for the endpoint instead.
    """
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
        called = await asyncio.gather(*(_call(backend, g, breaker, run) for g in groups))
        failed: list[PostToScore] = []
        for group, outcome in (pair for pairs in called for pair in pairs):
            if isinstance(outcome, RetriableLLMError):
                reason = _reason(outcome)
                failures = {p.status_id: (reason, str(outcome)) for p in group}
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
