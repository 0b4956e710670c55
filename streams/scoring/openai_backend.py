"""Scores batches with an OpenAI-compatible chat completions endpoint through ``AsyncOpenAI``.

Transport faults are retried here (429 after Retry-After, 5xx, timeouts and connection errors
with exponential backoff and jitter), then raise LLMUnavailableError, on which the classifier
pauses (``streams.scoring.breaker``); a 429 ``insufficient_quota`` raises QuotaExhaustedError at
once. Replies are validated per post by ``streams.llm.reply``, and posts a reply left unscored
are asked again by the caller. Errors no retry can fix (bad key, no access, unknown model)
raise FatalLLMError so the worker stops instead of looping.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Mapping, Sequence
from typing import Any

import openai
from openai import AsyncOpenAI

from streams import metrics
from streams.errors import (
    FatalLLMError,
    LLMUnavailableError,
    QuotaExhaustedError,
    RetriableLLMError,
)
from streams.llm import tokens
from streams.llm.prompt import (
    PROMPT_VERSION,
    PostToScore,
    PromptRequest,
    build_messages,
    max_output_tokens,
)
from streams.llm.reply import parse_reply
from streams.models.dead_letter import redact
from streams.scoring.backend import BatchScores, TokenUsage
from streams.scoring.capabilities import (
    CapabilityMemory,
    Mode,
    is_compact,
    refuses_format,
    response_format_for,
    starting_mode,
    step_down,
)
from streams.scoring.rate_headers import read_budget
from streams.scoring.rate_limit import RateLimiter
from streams.settings import Settings

log = logging.getLogger(__name__)

#: The response format found per endpoint and model, shared by the backends of a process.
FORMATS = CapabilityMemory()

#: What a probe asks to score: one word, the smallest request of the real shape.
PROBE_POST = PostToScore("probe", "ok", "en")


def retry_after_s(headers: Mapping[str, str] | None) -> float | None:
    """The server's requested wait: ``retry-after-ms`` (OpenAI) or ``Retry-After`` seconds."""
    if not headers:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            continue  # an HTTP date: rare from these APIs, fall back to backoff
        if 0 <= seconds <= 3600:
            return seconds
    return None


def backoff_s(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with full jitter: spreads retries of many workers apart."""
    return rng.uniform(0, min(cap, base * 2**attempt))


def cost_usd(usage: TokenUsage, prices: Mapping[str, float] | None) -> float:
    if not prices:
        return 0.0
    uncached = usage.input_tokens - usage.cached_input_tokens
    return (
        uncached * prices.get("input", 0.0)
        + usage.cached_input_tokens * prices.get("cached_input", prices.get("input", 0.0))
        + usage.output_tokens * prices.get("output", 0.0)
    ) / 1_000_000


class OpenAIBackend:
    name = "openai"
    prompt_version = PROMPT_VERSION

    def __init__(
        self,
        client: AsyncOpenAI,
        *,
        model: str,
        limiter: RateLimiter,
        prices: Mapping[str, float] | None,
        structured: bool = True,
        max_retries: int = 6,
        backoff_base_s: float = 1.0,
        backoff_max_s: float = 60.0,
        seed: int | None = None,
    ) -> None:
        self.client = client
        self.model = model
        self.limiter = limiter
        self.prices = prices
        self.endpoint = str(client.base_url).rstrip("/")
        #: The response format this endpoint takes, as far as known (see scoring.capabilities).
        self.mode: Mode = FORMATS.get(self.endpoint, model, starting_mode(structured))
        metrics.LLM_RESPONSE_FORMAT.labels(self.mode).set(1)
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.rng = random.Random(seed)
        #: Outcome counts of requests (ok, rate_limited, timeout, ...), for metrics.
        self.outcomes: dict[str, int] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIBackend:
        if settings.openai_api_key is None:
            raise FatalLLMError(
                "the openai backend needs an API key: set OPENAI_API_KEY (or "
                "STREAMS_SCORING_BACKEND=lexicon for the offline baseline)"
            )
        tokens.ensure_o200k(settings.cache_dir / "tiktoken")
        client = AsyncOpenAI(
            api_key=settings.openai_api_key.get_secret_value(),
            base_url=settings.openai_base_url,
            timeout=settings.openai_timeout_s,
            max_retries=0,  # retries are ours: they must honour the shared rate limiter
        )
        prices = settings.model_prices.get(settings.openai_model)
        if prices is None:
            log.warning(
                "no price configured for model %s: cost_usd will be 0 (set STREAMS_MODEL_PRICES)",
                settings.openai_model,
            )
        return cls(
            client,
            model=settings.openai_model,
            limiter=RateLimiter(
                settings.openai_requests_per_minute, settings.openai_tokens_per_minute
            ),
            prices=prices,
            structured=settings.openai_structured_output,
            max_retries=settings.openai_max_retries,
            backoff_base_s=settings.openai_backoff_s,
            backoff_max_s=settings.openai_backoff_max_s,
        )

    @property
    def structured(self) -> bool:
        """Whether replies are bound to the reply schema, so the output budget can be tight."""
        return is_compact(self.mode)

    def _stepped_down(self, exc: openai.APIError) -> bool:
        """On a refusal of the response format, move one step down the ladder; True if moved."""
        status = exc.status_code if isinstance(exc, openai.APIStatusError) else None
        following = step_down(self.mode)
        if following is None or not refuses_format(status, str(exc)):
            return False
        log.warning(
            "the LLM endpoint %s refused response_format %s (HTTP %s); using %s for model %s",
            self.endpoint, self.mode, status, following, self.model,
        )  # fmt: skip
        metrics.LLM_RESPONSE_FORMAT.labels(self.mode).set(0)
        metrics.LLM_RESPONSE_FORMAT.labels(following).set(1)
        self.mode = following
        FORMATS.remember(self.endpoint, self.model, following)
        return True

    def _count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        metrics.LLM_REQUESTS.labels(outcome).inc()

    async def score_batch(self, posts: Sequence[PostToScore]) -> BatchScores:
        request = build_messages(posts)
        budget = max_output_tokens(len(posts), structured=self.structured)
        estimate = tokens.count_chat_tokens(request.messages) + budget
        llm_ms = 0.0
        failure = LLMUnavailableError("no attempt made", "connection_error")
        attempt = -1
        while attempt < self.max_retries:
            attempt += 1
            await self.limiter.acquire(estimate)
            started = time.perf_counter()
            try:
                response = await self._create(request, budget, estimate)
            except openai.APIError as exc:
                if self._stepped_down(exc):
                    # Not a failed try: the same posts go again in a form the endpoint takes.
                    self._count("format_refused")
                    budget = max_output_tokens(len(posts), structured=self.structured)
                    attempt -= 1
                    continue
                if isinstance(exc, openai.BadRequestError):
                    self._count("bad_request")
                    raise RetriableLLMError(
                        f"request rejected (400): {redact(str(exc))}"
                    ) from None
                failure = self._unavailable(exc, attempt)
            else:
                elapsed = time.perf_counter() - started
                metrics.LLM_REQUEST_DURATION.observe(elapsed)
                llm_ms += elapsed * 1000
                return self._read(request, response, estimate, llm_ms)
            elapsed = time.perf_counter() - started
            metrics.LLM_REQUEST_DURATION.observe(elapsed)
            if failure.reason == "rate_limited":
                continue  # the limiter holds the next request for the Retry-After
            llm_ms += elapsed * 1000
            await asyncio.sleep(self._backoff(attempt))
        message = f"gave up after {self.max_retries + 1} tries: {failure}"
        raise LLMUnavailableError(message, failure.reason, failure.retry_after_s)

    async def probe(self) -> None:
        """One small real request, not retried: returns when the endpoint answers at all (an
        invalid reply or a 400 is an answer), raises LLMUnavailableError when it does not."""
        request = build_messages([PROBE_POST])
        while True:
            budget = max_output_tokens(1, structured=self.structured)
            estimate = tokens.count_chat_tokens(request.messages) + budget
            await self.limiter.acquire(estimate)
            started = time.perf_counter()
            try:
                await self._create(request, budget, estimate)
            except openai.APIError as exc:
                if self._stepped_down(exc):
                    self._count("format_refused")
                    continue
                if isinstance(exc, openai.BadRequestError):
                    self._count("bad_request")
                    return
                raise self._unavailable(exc, 0) from None
            else:
                self._count("ok")
                return
            finally:
                metrics.LLM_REQUEST_DURATION.observe(time.perf_counter() - started)

    def _unavailable(self, exc: openai.APIError, attempt: int) -> LLMUnavailableError:
        """What a failed request says about the endpoint. Raises what retrying the same request
        cannot fix: FatalLLMError, QuotaExhaustedError, and RetriableLLMError for a 4xx about
        the request itself."""
        if isinstance(exc, openai.RateLimitError):
            if "insufficient_quota" in (exc.code, getattr(exc, "type", None)):
                self._count("insufficient_quota")
                raise QuotaExhaustedError(
                    f"429 insufficient_quota: {redact(exc.message)}"
                ) from None
            self._count("rate_limited")
            wait = retry_after_s(exc.response.headers) or self._backoff(attempt)
            self.limiter.pause(wait)
            return LLMUnavailableError(
                f"429 rate limited, retry after {wait:.1f} s", "rate_limited", wait
            )
        if isinstance(exc, openai.APITimeoutError):
            self._count("timeout")
            return LLMUnavailableError("request timed out", "timeout")
        if isinstance(exc, openai.APIConnectionError):
            self._count("connection_error")
            return LLMUnavailableError(f"connection error: {exc}", "connection_error")
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            self._count("auth_error")
            raise FatalLLMError(
                f"the LLM endpoint refused the API key ({exc.status_code}): check "
                "OPENAI_API_KEY and the account's access to the model"
            ) from None
        if isinstance(exc, openai.NotFoundError):
            self._count("not_found")
            raise FatalLLMError(
                f"model {self.model!r} not found at the endpoint: check STREAMS_OPENAI_MODEL "
                "and STREAMS_OPENAI_BASE_URL"
            ) from None
        if isinstance(exc, openai.APIStatusError) and exc.status_code < 500:
            # 409, 413, 422...: about this request, not the endpoint; asking again alone helps.
            self._count("bad_request")
            raise RetriableLLMError(
                f"request rejected ({exc.status_code}): {redact(str(exc))}"
            ) from None
        self._count("server_error")
        status = exc.status_code if isinstance(exc, openai.APIStatusError) else "?"
        return LLMUnavailableError(f"server error {status}", "server_error")

    async def _create(self, request: PromptRequest, budget: int, charged: int) -> Any:
        """One request; ``charged``: the tokens the limiter took for it. The rate-limit headers
        of the answer, a success or an error, go to the limiter (``RateLimiter.follow``)."""
        create: Any = self.client.chat.completions.with_raw_response.create
        extra: dict[str, Any] = {}
        wanted = response_format_for(self.mode, tuple(request.item_ids))
        if wanted is not None:
            extra["response_format"] = wanted
        try:
            raw = await create(
                model=self.model, messages=list(request.messages), temperature=0,
                max_tokens=budget, **extra,
            )  # fmt: skip
        except openai.APIStatusError as exc:
            refused = charged if exc.status_code == 429 else None
            self.limiter.follow(read_budget(exc.response.headers), refused_tokens=refused)
            raise
        self.limiter.follow(read_budget(raw.headers))
        return raw.parse()

    def _backoff(self, attempt: int) -> float:
        return backoff_s(attempt, self.backoff_base_s, self.backoff_max_s, self.rng)

    def _read(self, request: Any, response: Any, estimate: int, llm_ms: float) -> BatchScores:
        choice = response.choices[0] if response.choices else None
        message = choice.message if choice else None
        parsed = parse_reply(
            message.content if message else None,
            request,
            choice.finish_reason if choice else None,
            getattr(message, "refusal", None) if message else None,
        )
        usage = TokenUsage()
        if response.usage is not None:
            details = getattr(response.usage, "prompt_tokens_details", None)
            usage = TokenUsage(
                input_tokens=response.usage.prompt_tokens,
                cached_input_tokens=(getattr(details, "cached_tokens", 0) or 0) if details else 0,
                output_tokens=response.usage.completion_tokens,
            )
            self.limiter.refund(estimate - usage.input_tokens - usage.output_tokens)
        self._count("ok" if not parsed.failed else "invalid_reply")
        return BatchScores(
            parsed.results, usage=usage, cost_usd=cost_usd(usage, self.prices), llm_ms=llm_ms
        )

    async def close(self) -> None:
        await self.client.close()
