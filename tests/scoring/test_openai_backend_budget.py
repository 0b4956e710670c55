"""OpenAIBackend reads the account's budget from the responses of the local server (in process,
through the real ``openai`` client) and its limiter follows it."""

from __future__ import annotations

import asyncio
from typing import Any

from streams.errors import LLMUnavailableError
from streams.llm.prompt import PostToScore
from streams.llm.reply import ScoredItem
from streams.scoring.openai_backend import OpenAIBackend
from streams.settings import Settings
from streams.testing.llm_server.server import start_local_llm_server

POSTS = [PostToScore("a", "Morgen debat over de begroting", "nl"),
         PostToScore("b", "Lovely weather for the march today", "en")]  # fmt: skip


def scored(times: int = 2, retries: int = 3, **server: Any) -> OpenAIBackend:
    """The backend, built as a worker builds it (settings: 500 RPM), after scoring POSTS
    ``times`` against a local server configured by ``server`` (an unavailable one: after
    trying)."""

    async def main() -> OpenAIBackend:
        local = await start_local_llm_server(**server)
        settings = Settings(
            scoring_backend="openai", openai_base_url=local.base_url, openai_api_key="k",
            openai_requests_per_minute=500, openai_tokens_per_minute=10**6,
            openai_max_retries=retries, openai_backoff_s=0.01, openai_backoff_max_s=0.05,
        )  # fmt: skip
        backend = OpenAIBackend.from_settings(settings)
        try:
            for _ in range(times):
                try:
                    result = await backend.score_batch(POSTS)
                except LLMUnavailableError:
                    continue
                assert all(isinstance(r, ScoredItem) for r in result.results.values())
            return backend
        finally:
            await backend.close()
            await local.close()

    return asyncio.run(main())


def immediate(backend: OpenAIBackend) -> int:
    """How many requests the backend's limiter lets go now without waiting."""
    sent = 0
    while backend.limiter.delay_for(1) == 0 and sent < 1000:
        backend.limiter.take(1)
        sent += 1
    return sent


def test_the_servers_lower_limit_becomes_the_limiters() -> None:
    backend = scored(rpm_limit=60)
    assert backend.limiter.follows_server
    # The settings allow 500 a minute; the server's 60 is the ceiling now, and of the 58 it
    # has left this worker, alone, may take all.
    assert immediate(backend) == 58


def test_a_429s_budget_is_followed() -> None:
    backend = scored(times=1, retries=0, rpm_limit=60, scripted=["rate_limit"])
    # No answer but the 429 came back: the limiter follows the budget it reported.
    assert backend.outcomes == {"rate_limited": 1}
    assert backend.limiter.follows_server


def test_a_server_without_headers_leaves_the_limiter_to_its_settings() -> None:
    backend = scored()
    assert not backend.limiter.follows_server
    assert immediate(backend) >= 498  # the settings' 500, less the two sent (and refilling)
