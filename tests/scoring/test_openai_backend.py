"""OpenAIBackend.score_batch through the real ``openai`` client against the local server, in
process: no broker, no worker."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from streams.errors import (
    FatalLLMError,
    LLMUnavailableError,
    QuotaExhaustedError,
    RetriableLLMError,
)
from streams.llm.lexicon import score_text
from streams.llm.prompt import PostToScore
from streams.llm.reply import ScoredItem
from streams.scoring.backend import BatchScores
from streams.scoring.openai_backend import OpenAIBackend
from streams.settings import Settings
from streams.testing.llm_server.server import LocalLLMServer, start_local_llm_server

POSTS = [
    PostToScore("a", "Die linkse ratten moeten het land uit", "nl"),
    PostToScore("b", "Morgen debat over de begroting", "nl"),
    PostToScore("c", "Lovely weather for the march today", "en"),
]


def run(
    scenario: Callable[[OpenAIBackend, LocalLLMServer], Awaitable[Any]],
    *, client_key: str = "local-test-key", **server: Any,
) -> Any:  # fmt: skip
    """``scenario(backend, server)`` with a backend built from settings, as a worker builds it."""

    async def main() -> Any:
        local = await start_local_llm_server(**server)
        settings = Settings(
            scoring_backend="openai", openai_base_url=local.base_url,
            openai_api_key=client_key, openai_timeout_s=2, openai_max_retries=2,
            openai_backoff_s=0.01, openai_backoff_max_s=0.05,
        )  # fmt: skip
        backend = OpenAIBackend.from_settings(settings)
        try:
            return await scenario(backend, local)
        finally:
            await backend.close()
            await local.close()

    return asyncio.run(main())


async def score(backend: OpenAIBackend, _: LocalLLMServer) -> BatchScores:
    return await backend.score_batch(POSTS)


def test_a_batch_comes_back_with_the_servers_scores_and_its_usage() -> None:
    result: BatchScores = run(score)
    assert set(result.results) == {"a", "b", "c"}
    for post in POSTS:
        item = result.results[post.status_id]
        assert isinstance(item, ScoredItem)
        # The local server scores with the lexicon and rounds to two decimals.
        expected = score_text(post.text)
        assert all(abs(item.scores[c] - expected[c]) <= 0.005 for c in expected)
    assert result.usage.input_tokens > 0 and result.usage.output_tokens > 0
    assert result.cost_usd > 0  # gpt-4o-mini has a price by default


def test_server_errors_are_retried_until_an_answer() -> None:
    result: BatchScores = run(score, scripted=["server_error", "unavailable"])
    assert all(isinstance(r, ScoredItem) for r in result.results.values())


def test_a_429_waits_for_retry_after_and_succeeds() -> None:
    async def scenario(backend: OpenAIBackend, local: LocalLLMServer) -> dict[str, int]:
        await backend.score_batch(POSTS)
        return backend.outcomes

    outcomes = run(scenario, scripted=["rate_limit"], retry_after_s=0.1)
    assert outcomes == {"rate_limited": 1, "ok": 1}


def test_persistent_server_errors_give_up_with_a_retriable_error() -> None:
    with pytest.raises(RetriableLLMError, match="gave up after 3 tries"):
        run(score, scripted=["server_error"] * 3)


def test_a_wrong_key_is_fatal_and_names_the_setting() -> None:
    with pytest.raises(FatalLLMError, match="OPENAI_API_KEY"):
        run(score, api_key="the-right-key", client_key="a-wrong-key")


def test_an_unknown_model_is_fatal() -> None:
    async def scenario(backend: OpenAIBackend, local: LocalLLMServer) -> Any:
        backend.model = "no-such-model"
        return await backend.score_batch(POSTS)

    with pytest.raises(FatalLLMError, match="STREAMS_OPENAI_MODEL"):
        run(scenario)


def test_an_endpoint_without_json_schema_falls_back_to_json_mode() -> None:
    async def scenario(backend: OpenAIBackend, local: LocalLLMServer) -> tuple[str, BatchScores]:
        result = await backend.score_batch(POSTS)
        return backend.mode, result

    mode, result = run(scenario, reject_json_schema=True)
    assert mode in ("json_object_schema", "json_object")
    assert all(isinstance(r, ScoredItem) for r in result.results.values())


def test_a_reply_missing_posts_leaves_them_failed_not_zeroed() -> None:
    result: BatchScores = run(score, scripted=["missing_ids"])
    scored = [k for k, r in result.results.items() if isinstance(r, ScoredItem)]
    assert len(scored) < len(POSTS)
    assert set(result.results) == {"a", "b", "c"}  # the missing ones are reported as failed


def test_persistent_server_errors_say_the_endpoint_is_unavailable() -> None:
    with pytest.raises(LLMUnavailableError) as caught:
        run(score, scripted=["unavailable"] * 3)
    assert caught.value.reason == "server_error"


def test_quota_exhaustion_is_not_retried_and_has_its_own_error() -> None:
    async def scenario(backend: OpenAIBackend, local: LocalLLMServer) -> None:
        local.config.update({"outage_kind": "insufficient_quota", "outage_until": 1e12})
        try:
            await backend.score_batch(POSTS)
        finally:
            assert local.stats.requests == 1, "a quota 429 is not asked again"

    with pytest.raises(QuotaExhaustedError, match="insufficient_quota") as caught:
        run(scenario)
    assert caught.value.reason == "insufficient_quota"


def test_a_probe_is_one_small_request_answered_or_unavailable() -> None:
    async def scenario(backend: OpenAIBackend, local: LocalLLMServer) -> tuple[int, str]:
        await backend.probe()
        answered = local.stats.items
        local.config.update({"scripted": ["timeout"], "hang_s": 3})
        try:
            await backend.probe()
        except LLMUnavailableError as exc:
            return answered, exc.reason
        return answered, "answered"

    items, reason = run(scenario)
    assert items == 1, "the probe asks for one post's scores"
    assert reason == "timeout", "a probe is not retried"
