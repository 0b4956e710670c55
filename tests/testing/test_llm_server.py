"""The local LLM server, driven over HTTP by the real ``openai`` client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any

import aiohttp
import openai
import pytest
from openai.types.chat import ChatCompletion

from streams.llm.lexicon import score_text
from streams.llm.prompt import (
    PostToScore,
    PromptRequest,
    build_messages,
    max_output_tokens,
    response_format,
)
from streams.llm.reply import FailureReason, ParsedReply, parse_reply
from streams.llm.tokens import count_chat_tokens, count_tokens
from streams.testing.llm_server.faults import FaultConfig, FaultKind
from streams.testing.llm_server.server import LocalLLMServer, start_local_llm_server

R = FailureReason
POSTS = [
    PostToScore("1", "Die linkse ratten moeten weg", "nl"),
    PostToScore("2", "Morgen debat over de begroting", "nl"),
    PostToScore("3", "The globalists again", "en"),
    PostToScore("4", "Lovely weather for the march today", "en"),
]

Scenario = Callable[[LocalLLMServer, openai.AsyncOpenAI], Awaitable[None]]


@asynccontextmanager
async def fake_and_client(
    *, timeout: float = 5.0, max_retries: int = 0, client_key: str = "sk-test", **config: Any
) -> AsyncIterator[tuple[LocalLLMServer, openai.AsyncOpenAI]]:
    """A fake server (``config``: its FaultConfig fields) and a real client of it."""
    fake = await start_local_llm_server(**config)
    client = openai.AsyncOpenAI(
        base_url=fake.base_url, api_key=client_key, timeout=timeout, max_retries=max_retries
    )
    try:
        yield fake, client
    finally:
        await client.close()
        await fake.close()


@pytest.fixture
def run_with_fake() -> Callable[..., None]:
    """Runs ``scenario(fake, client)`` against a fresh fake server configured by kwargs."""

    def run(scenario: Scenario, **kwargs: Any) -> None:
        async def main() -> None:
            async with fake_and_client(**kwargs) as (fake, client):
                await scenario(fake, client)

        asyncio.run(main())

    return run


async def complete(
    client: openai.AsyncOpenAI, request: PromptRequest, model: str = "gpt-4o-mini"
) -> ChatCompletion:
    return await client.chat.completions.create(
        model=model,
        messages=list(request.messages),
        response_format=response_format(),
        max_tokens=max_output_tokens(len(request.item_ids)),
        temperature=0,
    )


def parsed(completion: ChatCompletion, request: PromptRequest) -> ParsedReply:
    choice = completion.choices[0]
    return parse_reply(
        choice.message.content, request, choice.finish_reason, choice.message.refusal
    )


def test_a_normal_reply_parses_to_the_lexicon_scores(run_with_fake: Callable[..., None]) -> None:
    async def scenario(fake: LocalLLMServer, client: openai.AsyncOpenAI) -> None:
        request = build_messages(POSTS)
        completion = await complete(client, request)
        result = parsed(completion, request)
        assert result.failed == {}
        assert result.scored == {p.status_id: score_text(p.text) for p in POSTS}
        assert completion.object == "chat.completion"
        assert completion.model == "gpt-4o-mini"
        assert completion.choices[0].finish_reason == "stop"
        assert completion.choices[0].message.refusal is None

    run_with_fake(scenario)


def test_usage_is_counted_as_the_client_estimates_it(
    run_with_fake: Callable[..., None],
) -> None:
    async def scenario(fake: LocalLLMServer, client: openai.AsyncOpenAI) -> None:
        request = build_messages(POSTS)
        completion = await complete(client, request)
        usage = completion.usage
        assert usage is not None
        assert usage.prompt_tokens == count_chat_tokens(request.messages)
        assert usage.completion_tokens == count_tokens(completion.choices[0].message.content or "")
        assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
        assert usage.prompt_tokens_details is not None
        assert usage.prompt_tokens_details.cached_tokens == 0
        stats = fake.stats.to_json()
        assert stats["prompt_tokens"] == usage.prompt_tokens
        assert stats["completion_tokens"] == usage.completion_tokens
        assert stats["items"] == len(POSTS)

    run_with_fake(scenario)


def test_rate_limit_carries_retry_after(run_with_fake: Callable[..., None]) -> None:
    async def scenario(fake: LocalLLMServer, client: openai.AsyncOpenAI) -> None:
        with pytest.raises(openai.RateLimitError) as caught:
            await complete(client, build_messages(POSTS))
        assert caught.value.status_code == 429
        assert caught.value.response.headers["retry-after"] == "3"
        assert caught.value.response.headers["retry-after-ms"] == "2500"
        assert caught.value.code == "rate_limit_exceeded"

    run_with_fake(scenario, scripted=["rate_limit"], retry_after_s=2.5)


def test_the_client_waits_out_retry_after_and_succeeds(
    run_with_fake: Callable[..., None],
) -> None:
    async def scenario(fake: LocalLLMServer, client: openai.AsyncOpenAI) -> None:
        started = time.monotonic()
        request = build_messages(POSTS)
        assert parsed(await complete(client, request), request).failed == {}
        assert time.monotonic() - started >= 0.3
        assert fake.stats.requests == 2
        assert fake.stats.by_status == {429: 1, 200: 1}

    run_with_fake(scenario, scripted=["rate_limit"], retry_after_s=0.3, max_retries=1)


@pytest.mark.parametrize(
    ("fault", "status"),
    [("server_error", 500), ("bad_gateway", 502), ("unavailable", 503)],
)
def test_server_errors_are_api_status_errors(
    run_with_fake: Callable[..., None], fault: str, status: int
) -> None:
    async def scenario(fake: LocalLLMServer, client: openai.AsyncOpenAI) -> None:
        with pytest.raises(openai.InternalServerError) as caught:
            await complete(client, build_messages(POSTS))
        assert isinstance(caught.value, openai.APIStatusError)
        assert caught.value.status_code == status

    run_with_fake(scenario, scripted=[fault])


def test_a_hang_is_a_client_timeout_and_close_is_quick(
    run_with_fake: Callable[..., None],
) -> None:
    async def scenario(fake: LocalLLMServer, client: openai.AsyncOpenAI) -> None:
        with pytest.raises(openai.APITimeoutError):
            await complete(client, build_messages(POSTS))
        assert fake.stats.faults == {"timeout": 1}

    started = time.monotonic()
    run_with_fake(scenario, scripted=["timeout"], hang_s=60, timeout=0.3)
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("not_json", {R.REPLY_NOT_JSON}),
        ("refusal", {R.REFUSAL}),
        ("truncated", {R.REPLY_TRUNCATED}),
        ("missing_ids", {R.ITEM_MISSING}),
        ("wrong_ids", {R.ITEM_MISSING}),
        ("out_of_range", {R.SCORE_OUT_OF_RANGE}),
        ("string_scores", {R.SCORE_NOT_NUMBER}),
    ],
)
def test_content_faults_reach_the_parser_as_failures(
    run_with_fake: Callable[..., None], fault: str, expected: set[FailureReason]
) -> None:
    async def scenario(fake: LocalLLMServer, client: openai.AsyncOpenAI) -> None:
        request = build_messages(POSTS)
        completion = await complete(client, request)
        result = parsed(completion, request)
        assert {f.reason for f in result.failed.values()} == expected
        for sid, scores in result.scored.items():  # whatever survived is the truth
            assert scores == score_text(next(p.text for p in POSTS if p.status_id == sid))
        if fault == "truncated":
            assert completion.choices[0].finish_reason == "length"
        if fault == "refusal":
            assert completion.choices[0].message.refusal
            assert completion.choices[0].message.content is None

    run_with_fake(scenario, scripted=[fault])


def test_extra_ids_are_ignored_and_reported(run_with_fake: Callable[..., None]) -> None:
    async def scenario(fake: LocalLLMServer, client: openai.AsyncOpenAI) -> None:
        request = build_messages(POSTS)
        result = parsed(await complete(client, request), request)
        assert result.failed == {}
        assert [a.reason for a in result.anomalies] == [R.UNKNOWN_ID]

    run_with_fake(scenario, scripted=["extra_ids"])


def test_a_bad_key_is_401(run_with_fake: Callable[..., None]) -> None:
    async def scenario(fake: LocalLLMServer, client: openai.AsyncOpenAI) -> None:
        with pytest.raises(openai.AuthenticationError) as caught:
            await complete(client, build_messages(POSTS))
        assert caught.value.code == "invalid_api_key"

    run_with_fake(scenario, api_key="sk-right", client_key="sk-wrong")


def test_the_right_key_is_served(run_with_fake: Callable[..., None]) -> None:
    async def scenario(fake: LocalLLMServer, client: openai.AsyncOpenAI) -> None:
        await complete(client, build_messages(POSTS))

    run_with_fake(scenario, api_key="sk-right", client_key="sk-right")


def test_an_unknown_model_is_404(run_with_fake: Callable[..., None]) -> None:
    async def scenario(fake: LocalLLMServer, client: openai.AsyncOpenAI) -> None:
        with pytest.raises(openai.NotFoundError) as caught:
            await complete(client, build_messages(POSTS), model="gpt-9-ultra")
        assert caught.value.code == "model_not_found"

    run_with_fake(scenario)


def test_a_prompt_in_another_format_is_a_bad_request(run_with_fake: Callable[..., None]) -> None:
    async def scenario(fake: LocalLLMServer, client: openai.AsyncOpenAI) -> None:
        with pytest.raises(openai.BadRequestError):
            await client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "[1] hello"}]
            )

    run_with_fake(scenario)


def test_an_endpoint_without_structured_output_rejects_json_schema(
    run_with_fake: Callable[..., None],
) -> None:
    async def scenario(fake: LocalLLMServer, client: openai.AsyncOpenAI) -> None:
        request = build_messages(POSTS)
        with pytest.raises(openai.BadRequestError) as caught:
            await complete(client, request)
        assert "response_format" in str(caught.value)
        json_mode = await client.chat.completions.create(
            model="gpt-4o-mini",
            messages=list(request.messages),
            response_format=response_format(structured=False),
            max_tokens=max_output_tokens(len(POSTS), structured=False),
        )
        assert parsed(json_mode, request).failed == {}

    run_with_fake(scenario, reject_json_schema=True)


def test_latency_is_added(run_with_fake: Callable[..., None]) -> None:
    async def scenario(fake: LocalLLMServer, client: openai.AsyncOpenAI) -> None:
        started = time.monotonic()
        await complete(client, build_messages(POSTS))
        assert time.monotonic() - started >= 0.2

    run_with_fake(scenario, latency_ms=200)


def test_random_faults_are_reproducible_from_the_seed() -> None:
    # Every kind but TIMEOUT, which would only make the run slow.
    kinds = [k.value for k in FaultKind if k is not FaultKind.TIMEOUT]
    first, second = _fault_sequence_kinds(7, kinds), _fault_sequence_kinds(7, kinds)
    assert first == second
    assert 5 <= sum(1 for f in first if f != "-") <= 25
    assert first != _fault_sequence_kinds(8, kinds)


def _fault_sequence_kinds(seed: int, kinds: list[str]) -> list[str]:
    async def main() -> list[str]:
        async with fake_and_client(fault_rate=0.5, seed=seed, fault_kinds=kinds) as (fake, client):
            seen = []
            for _ in range(30):
                before = dict(fake.stats.faults)
                with suppress(openai.APIStatusError):
                    await complete(client, build_messages(POSTS))
                after = dict(fake.stats.faults)
                seen.append(next((k for k in after if after[k] != before.get(k)), "-"))
            return seen

    return asyncio.run(main())


def test_a_token_limit_throttles_with_retry_after(run_with_fake: Callable[..., None]) -> None:
    async def scenario(fake: LocalLLMServer, client: openai.AsyncOpenAI) -> None:
        request = build_messages(POSTS)
        cost = count_chat_tokens(request.messages) + max_output_tokens(len(POSTS))
        fake.config.update({"tpm_limit": cost * 3 // 2})  # one request fits, two do not
        raw = await client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=list(request.messages),
            max_tokens=max_output_tokens(len(POSTS)),
        )
        assert raw.headers["x-ratelimit-limit-tokens"] == str(cost * 3 // 2)
        assert int(raw.headers["x-ratelimit-remaining-tokens"]) == cost // 2
        with pytest.raises(openai.RateLimitError) as caught:
            await complete(client, request)
        wait_ms = int(caught.value.response.headers["retry-after-ms"])
        assert 0 < wait_ms <= 60_000
        assert fake.stats.throttled == 1
        assert fake.stats.faults == {}

    run_with_fake(scenario)


def test_faults_and_stats_are_controlled_over_http(run_with_fake: Callable[..., None]) -> None:
    async def scenario(fake: LocalLLMServer, client: openai.AsyncOpenAI) -> None:
        root = fake.base_url.removesuffix("/v1")
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{root}/_faults", json={"scripted": ["unavailable"]}) as r:
                assert r.status == 200
                assert (await r.json())["scripted"] == ["unavailable"]
            with pytest.raises(openai.InternalServerError):
                await complete(client, build_messages(POSTS))
            await complete(client, build_messages(POSTS))
            async with http.get(f"{root}/_stats") as r:
                stats = await r.json()
            assert stats["requests"] == 2
            assert stats["by_status"] == {"200": 1, "503": 1}
            assert stats["faults"] == {"unavailable": 1}
            async with http.post(f"{root}/_faults", json={"fault_rate": 2}) as r:
                assert r.status == 400
            async with http.post(f"{root}/_faults", json={"no_such": 1}) as r:
                assert r.status == 400
            assert fake.config.fault_rate == 0.0
            async with http.delete(f"{root}/_stats") as r:
                assert (await r.json())["requests"] == 0

    run_with_fake(scenario)


def test_an_outage_window_fails_every_request_until_it_ends(
    run_with_fake: Callable[..., None],
) -> None:
    async def scenario(fake: LocalLLMServer, client: openai.AsyncOpenAI) -> None:
        root = fake.base_url.removesuffix("/v1")
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{root}/_faults", json={"outage_s": 0.6}) as r,
        ):
            assert r.status == 200
        for _ in range(3):
            with pytest.raises(openai.InternalServerError) as caught:
                await complete(client, build_messages(POSTS))
            assert caught.value.status_code == 503
        await asyncio.sleep(0.7)
        await complete(client, build_messages(POSTS))
        assert fake.stats.by_status == {503: 3, 200: 1}

    run_with_fake(scenario)


def test_quota_exhaustion_is_a_429_with_its_own_code(run_with_fake: Callable[..., None]) -> None:
    async def scenario(fake: LocalLLMServer, client: openai.AsyncOpenAI) -> None:
        fake.config.update({"outage_kind": "insufficient_quota", "outage_until": 1e12})
        with pytest.raises(openai.RateLimitError) as caught:
            await complete(client, build_messages(POSTS))
        assert caught.value.code == "insufficient_quota"
        assert "retry-after" not in caught.value.response.headers
        assert "quota" in caught.value.message

    run_with_fake(scenario)


def test_quota_exhaustion_is_not_among_the_random_faults() -> None:
    assert FaultKind.QUOTA_EXHAUSTED not in FaultConfig().fault_kinds
