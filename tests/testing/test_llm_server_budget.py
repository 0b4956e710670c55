"""The local LLM server reports its one budget on every response, 429s and errors included, as
OpenAI does: through the real ``openai`` client's raw responses."""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pytest

from streams.llm.prompt import PostToScore, build_messages, max_output_tokens
from streams.llm.tokens import count_chat_tokens
from streams.scoring.rate_headers import read_budget
from streams.testing.llm_server.server import start_local_llm_server

POSTS = [PostToScore("1", "Morgen debat over de begroting", "nl"),
         PostToScore("2", "Lovely weather for the march today", "en")]  # fmt: skip
REQUEST = build_messages(POSTS)
MAX_TOKENS = max_output_tokens(len(POSTS))
COST = count_chat_tokens(REQUEST.messages) + MAX_TOKENS


async def answer(
    client: openai.AsyncOpenAI, model: str = "gpt-4o-mini", **extra: Any
) -> tuple[int, Any]:
    """(status, headers) of one chat completion, whatever its status."""
    create = client.chat.completions.with_raw_response.create
    try:
        raw = await create(
            model=model, messages=list(REQUEST.messages), max_tokens=MAX_TOKENS, **extra
        )
    except openai.APIStatusError as exc:
        return exc.status_code, exc.response.headers
    return raw.status_code, raw.headers


def test_every_response_carries_the_budget() -> None:
    async def main() -> list[tuple[int, Any]]:
        fake = await start_local_llm_server(rpm_limit=10, tpm_limit=COST * 3 // 2,
                                            reject_json_schema=True)  # fmt: skip
        client = openai.AsyncOpenAI(base_url=fake.base_url, api_key="k", max_retries=0)
        try:
            seen = [await answer(client)]  # 200
            seen.append(await answer(client))  # 429: the tokens are spent
            fake.config.update({"tpm_limit": COST * 10})
            for fault in ("server_error", "unavailable", "rate_limit"):
                fake.config.update({"scripted": [fault]})
                seen.append(await answer(client))  # 500, 503, 429 injected
            seen.append(await answer(client, model="no-such-model"))  # 404
            schema = {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}
            seen.append(await answer(client, response_format=schema))  # 400
            fake.config.update({"tpm_limit": COST - 1})
            seen.append(await answer(client))  # 429: larger than the whole limit
            return seen
        finally:
            await client.close()
            await fake.close()

    seen = asyncio.run(main())
    assert [status for status, _ in seen] == [200, 429, 500, 503, 429, 404, 400, 429]
    for status, headers in seen:
        budget = read_budget(headers)
        assert budget.requests is not None and budget.tokens is not None, status
        assert budget.requests.limit == 10
    first, throttled = (read_budget(h) for _, h in seen[:2])
    assert first.requests is not None and first.requests.remaining == 9
    assert first.tokens is not None and first.tokens.remaining == COST // 2
    # A refused request is not charged: the budget it reports has only the refill since.
    assert throttled.requests is not None and throttled.requests.remaining == 9


def test_the_budget_is_reported_as_it_is_when_the_answer_leaves() -> None:
    """With latency the budget refills while the reply is made: a response reports that, not
    what the request's admission left."""

    async def main() -> tuple[float, float]:
        fake = await start_local_llm_server(tpm_limit=COST * 60, latency_ms=1000)
        client = openai.AsyncOpenAI(base_url=fake.base_url, api_key="k", max_retries=0)
        try:
            _, headers = await answer(client)
            stats = fake.stats.to_json()
            return float(headers["x-ratelimit-remaining-tokens"]), stats["charged_tokens"]
        finally:
            await client.close()
            await fake.close()

    remaining, charged = asyncio.run(main())
    assert charged == COST
    # COST x 60 per minute refills COST a second: the second of latency gave it back.
    assert remaining == pytest.approx(COST * 60, abs=COST * 0.1)


def test_no_limits_no_headers() -> None:
    async def main() -> Any:
        fake = await start_local_llm_server()
        client = openai.AsyncOpenAI(base_url=fake.base_url, api_key="k", max_retries=0)
        try:
            return (await answer(client))[1]
        finally:
            await client.close()
            await fake.close()

    headers = asyncio.run(main())
    assert not read_budget(headers).known
    assert not any(name.startswith("x-ratelimit") for name in headers)
