"""The breaker around the per-post attempts, with an in-process scripted backend: outages hold
the calls instead of dead-lettering their posts, and a post the endpoint keeps failing on
while it answers others is still dead-lettered."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest

from streams import metrics
from streams.categories import CATEGORIES
from streams.errors import FatalLLMError, LLMUnavailableError, QuotaExhaustedError
from streams.llm.prompt import PostToScore
from streams.llm.reply import ItemResult, ScoredItem
from streams.scoring.attempts import ScoringRun, score_with_attempts
from streams.scoring.backend import BatchScores
from streams.scoring.breaker import Breaker
from streams.scoring.circuit import Circuit

ZEROS = dict.fromkeys(CATEGORIES, 0.0)


class FlakyEndpoint:
    """Down (every call and probe fails with ``error``) until ``down_probes`` probes have
    failed, or for its first ``down_calls`` calls (without probes); a call with a text in
    ``poison`` fails as unavailable whenever it is up."""

    name = "flaky"
    model = "flaky-1"
    prompt_version = "test"

    def __init__(
        self, down_probes: int = 0, down_calls: int = 0,
        error: LLMUnavailableError | None = None, poison: frozenset[str] = frozenset(),
    ) -> None:  # fmt: skip
        self.down_probes, self.down_calls = down_probes, down_calls
        self.error = error or LLMUnavailableError("server error 503", "server_error")
        self.poison = poison
        self.calls: list[list[str]] = []
        self.probes = 0

    @property
    def down(self) -> bool:
        by_probes = self.down_probes > 0 and self.probes <= self.down_probes
        return by_probes or len(self.calls) <= self.down_calls

    async def score_batch(self, posts: Sequence[PostToScore]) -> BatchScores:
        self.calls.append([p.text for p in posts])
        await asyncio.sleep(0)
        if self.down:
            raise self.error
        if any(p.text in self.poison for p in posts):
            raise LLMUnavailableError("server error 500", "server_error")
        results: dict[str, ItemResult] = {
            p.status_id: ScoredItem(p.status_id, ZEROS) for p in posts
        }
        return BatchScores(results)

    async def probe(self) -> None:
        self.probes += 1
        if self.down:
            raise self.error

    async def close(self) -> None:
        return None


def posts(*texts: str) -> list[PostToScore]:
    return [PostToScore(f"s{i}", t, "en") for i, t in enumerate(texts)]


def breaker_for(
    endpoint: FlakyEndpoint | Callable[[], Awaitable[None]], failures: int = 2
) -> Breaker:
    probe = endpoint.probe if isinstance(endpoint, FlakyEndpoint) else endpoint
    return Breaker(Circuit(failures, probe_backoff_s=0.01, probe_backoff_max_s=0.04), probe)


def run(scenario: Callable[[], Awaitable[Any]]) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(scenario(), timeout=20)

    return asyncio.run(bounded())


def gauge(name: str, **labels: str) -> float | None:
    return metrics.REGISTRY.get_sample_value(name, labels)


def test_an_outage_holds_the_calls_and_dead_letters_nothing() -> None:
    endpoint = FlakyEndpoint(down_probes=4)

    async def scenario() -> tuple[ScoringRun, Breaker]:
        breaker = breaker_for(endpoint)
        batches = [posts(f"a{i}", f"b{i}") for i in range(3)]
        runs = await asyncio.gather(
            *(score_with_attempts(endpoint, batch, 1, breaker) for batch in batches)
        )
        merged = ScoringRun()
        for one in runs:
            merged.add(one)
        return merged, breaker

    result, breaker = run(scenario)
    assert len(result.scored) == 2 and result.unscored == {}  # ids repeat across batches
    # Two failed calls opened it (the first was made again at once, the circuit still
    # closed); four probes failed, the fifth was answered, and the three held calls went
    # again, once each.
    assert endpoint.probes == 5
    assert len(endpoint.calls) == 3 + 1 + 3
    assert breaker.available and breaker.call_answers == 3
    assert gauge("streams_llm_available") == 1
    assert gauge("streams_llm_unavailable", reason="server_error") == 0


def test_without_a_breaker_an_outage_is_a_failed_attempt_as_before() -> None:
    endpoint = FlakyEndpoint(down_calls=5)
    result = run(lambda: score_with_attempts(endpoint, posts("a"), 2))
    assert len(endpoint.calls) == 2
    assert result.unscored["s0"].reason == "llm_unavailable"
    assert endpoint.probes == 0


def test_while_open_the_gauges_say_why_and_reading_would_wait() -> None:
    endpoint = FlakyEndpoint(down_probes=1000, error=QuotaExhaustedError("429"))

    async def scenario() -> None:
        breaker = breaker_for(endpoint, failures=5)
        task = asyncio.ensure_future(score_with_attempts(endpoint, posts("a"), 3, breaker))
        await asyncio.sleep(0.2)
        assert not breaker.available, "quota exhaustion opens at once, whatever the count"
        assert gauge("streams_llm_available") == 0
        assert gauge("streams_llm_unavailable", reason="insufficient_quota") == 1
        assert gauge("streams_llm_unavailable", reason="server_error") == 0
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(breaker.wait_available(), 0.1)
        assert not task.done(), "the call waits for the endpoint, it is not given up"
        endpoint.down_probes = 0
        result = await task
        assert set(result.scored) == {"s0"}
        await breaker.close()

    run(scenario)


def test_quota_exhaustion_is_logged_when_it_starts_not_per_probe(
    caplog: pytest.LogCaptureFixture,
) -> None:
    endpoint = FlakyEndpoint(down_probes=30, error=QuotaExhaustedError("429 quota"))

    async def scenario() -> None:
        breaker = breaker_for(endpoint)
        await score_with_attempts(endpoint, posts("a"), 1, breaker)

    with caplog.at_level(logging.WARNING, logger="streams.scoring.breaker"):
        run(scenario)
    messages = [r.getMessage() for r in caplog.records]
    assert endpoint.probes == 31, "each probe failed but the last"
    unavailable = [m for m in messages if m.startswith("LLM unavailable")]
    assert len(unavailable) == 1 and "restarting the worker does not help" in unavailable[0]
    assert not [m for m in messages if m.startswith("LLM still unavailable")], "within a minute"
    assert messages[-1].startswith("LLM available again")


def test_a_post_the_endpoint_fails_on_while_it_answers_others_is_still_dead_lettered() -> None:
    # The endpoint answers probes and other posts but 500s on this one: it must not hold the
    # classifier forever; it ends alone and dead-lettered, the others are scored.
    endpoint = FlakyEndpoint(poison=frozenset({"poison"}))

    async def scenario() -> ScoringRun:
        breaker = breaker_for(endpoint)
        return await score_with_attempts(endpoint, posts("a", "poison", "c"), 3, breaker)

    result = run(scenario)
    assert set(result.scored) == {"s0", "s2"}
    assert result.unscored["s1"].reason == "llm_unavailable"
    assert "500" in result.unscored["s1"].detail
    assert ["poison"] in endpoint.calls


def test_a_fatal_answer_to_a_probe_reaches_the_held_calls() -> None:
    async def refused() -> None:
        raise FatalLLMError("the LLM endpoint refused the API key (401)")

    endpoint = FlakyEndpoint(down_probes=99)

    async def scenario() -> None:
        breaker = breaker_for(refused, failures=1)
        await score_with_attempts(endpoint, posts("a"), 3, breaker)

    with pytest.raises(FatalLLMError, match="401"):
        run(scenario)
