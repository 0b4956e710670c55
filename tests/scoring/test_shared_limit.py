"""Three workers' backends, each with its own limiter configured with the whole budget, against
one local server process enforcing one RPM/TPM limit for all of them: through the real
``openai`` client over HTTP, no broker. They converge on the limit with few 429s."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

import pytest

from streams.llm.prompt import PostToScore
from streams.scoring.openai_backend import OpenAIBackend
from streams.settings import Settings
from streams.testing.corpus import make_posts
from streams.testing.llm_server.process import LocalLLMProcess

WORKERS = 3
IN_FLIGHT = 4  # batches in flight per worker, as STREAMS_MAX_BATCHES_IN_FLIGHT
BATCH = 10
RPM, TPM = 150, 100_000  # tokens bind: ~1000 charged per batch of 10, ~100 batches a minute
WINDOW_S = 20.0


def batches() -> list[list[PostToScore]]:
    posts = [p.parsed() for p in make_posts(200)]
    scored = [PostToScore(p.status_id, p.text, p.language) for p in posts]
    return [scored[i : i + BATCH] for i in range(0, len(scored), BATCH)]


async def keep_scoring(backend: OpenAIBackend, work: itertools.cycle[list[PostToScore]]) -> None:
    while True:
        await backend.score_batch(next(work))


async def share_the_limit(llm: LocalLLMProcess, settle_s: float) -> dict[str, Any]:
    settings = Settings(
        scoring_backend="openai", openai_base_url=llm.base_url, openai_api_key=llm.api_key,
        openai_requests_per_minute=RPM, openai_tokens_per_minute=TPM,
    )  # fmt: skip
    backends = [OpenAIBackend.from_settings(settings) for _ in range(WORKERS)]
    work = itertools.cycle(batches())
    tasks = [asyncio.create_task(keep_scoring(b, work))
             for b in backends for _ in range(IN_FLIGHT)]  # fmt: skip
    await asyncio.sleep(settle_s)
    opened = await asyncio.to_thread(llm.stats)
    await asyncio.sleep(WINDOW_S)
    closed = await asyncio.to_thread(llm.stats)
    for task in tasks:  # most are waiting for their turn in a limiter by now
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for backend in backends:
        await backend.close()
    return {"opened": opened, "closed": closed, "outcomes": [b.outcomes for b in backends]}


def fraction_left(stats: dict[str, Any], resource: str) -> float:
    budget = stats["budget"]
    return int(budget[f"x-ratelimit-remaining-{resource}"]) / int(
        budget[f"x-ratelimit-limit-{resource}"]
    )


@pytest.mark.timeout(120)
def test_three_workers_converge_on_one_limit(local_llm: Callable[..., LocalLLMProcess]) -> None:
    llm = local_llm(rpm_limit=RPM, tpm_limit=TPM, latency_ms=100)
    # The budget starts full; a minute's worth of it drains in the first seconds.
    result = asyncio.run(share_the_limit(llm, settle_s=15))
    opened, closed = result["opened"], result["closed"]

    # The tokens bind: what the server charged in the window (prompt + max_tokens of each
    # request admitted), against what its limit lets through in that time.
    charged = closed["charged_tokens"] - opened["charged_tokens"]
    assert charged >= 0.9 * TPM / 60 * WINDOW_S, (charged, opened["budget"], closed["budget"])
    # Few 429s over the whole run, the full budget's first seconds included.
    all_calls = sum(closed["by_status"].values())
    assert closed["by_status"].get("429", 0) <= 0.01 * all_calls, closed["by_status"]
    # Converged: the tokens left hold near where three workers settle (0.23 of the limit)
    # instead of running out, and every worker got its turn.
    for stats in (opened, closed):
        assert 0.1 <= fraction_left(stats, "tokens") <= 0.4, stats["budget"]
    assert all(outcomes.get("ok", 0) >= 10 for outcomes in result["outcomes"])
