"""The LLM circuit breaker: holds every LLM call while the endpoint is unavailable, probes it,
and lets the calls go again when it answers. The states are :mod:`streams.scoring.circuit`'s;
this module adds the waiting, the probe task, the metrics and the log lines.

The classifier asks it before every call and before taking a new batch, so an outage stops
reading (the consumer lag grows, offsets stay) instead of dead-lettering the posts: the held
calls are made again once a probe is answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from streams import metrics
from streams.errors import UNAVAILABLE_REASONS as REASONS
from streams.errors import FatalLLMError, LLMUnavailableError, RetriableLLMError
from streams.scoring.circuit import QUOTA, Circuit
from streams.settings import Settings

log = logging.getLogger(__name__)

#: What each reason means for the operator, in the log lines.
ADVICE = {
    "server_error": "the endpoint answers with server errors",
    "timeout": "requests time out (STREAMS_OPENAI_TIMEOUT_S)",
    "connection_error": "the endpoint cannot be reached (STREAMS_OPENAI_BASE_URL)",
    "rate_limited": "429s go on past their Retry-After: lower STREAMS_OPENAI_REQUESTS_PER_MINUTE "
    "and STREAMS_OPENAI_TOKENS_PER_MINUTE to the account's limits divided by the workers",
    QUOTA: "the account's quota is used up (insufficient_quota): add credit or raise the "
    "limit with the provider; restarting the worker does not help",
}


class Breaker:
    """Gate of the LLM calls. ``probe`` makes one small real request and raises like
    ``score_batch`` does when the endpoint does not answer."""

    def __init__(
        self,
        circuit: Circuit,
        probe: Callable[[], Awaitable[object]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.circuit = circuit
        self._probe = probe
        self._clock = clock
        self._available = asyncio.Event()
        self._available.set()
        self._prober: asyncio.Task[None] | None = None
        self._fatal: FatalLLMError | None = None
        #: Answers the endpoint gave to calls and to probes: a call that fails while others
        #: get answers may be failing for a reason of its own.
        self.call_answers = 0
        self.probe_answers = 0
        self._publish()

    @classmethod
    def from_settings(cls, settings: Settings, probe: Callable[[], Awaitable[object]]) -> Breaker:
        circuit = Circuit(
            settings.llm_circuit_failures,
            settings.llm_probe_backoff_s,
            max(settings.llm_probe_backoff_s, settings.llm_probe_backoff_max_s),
        )
        return cls(circuit, probe)

    @property
    def available(self) -> bool:
        return self.circuit.available

    async def wait_available(self) -> None:
        """Return when calls may go; raise FatalLLMError if a probe found one."""
        await self._available.wait()
        if self._fatal is not None:
            raise self._fatal

    def call_failed(self, error: LLMUnavailableError) -> None:
        """A whole call found the endpoint unavailable (after the backend's retries)."""
        now = self._clock()
        was = self.circuit.reason
        if self.circuit.call_failed(error.reason, str(error), now, error.retry_after_s):
            self._available.clear()
            log.warning(
                "LLM unavailable (%s): %s. Reading is paused: the batches in flight wait and are "
                "sent again when the endpoint answers, none is dead-lettered for it; probing "
                "with backoff. Last error: %s",
                error.reason, ADVICE[error.reason], error,
            )  # fmt: skip
            if self._prober is None or self._prober.done():
                self._prober = asyncio.ensure_future(self._probe_until_answered())
        elif self.circuit.reason != was:
            log.warning("LLM unavailable, now for %s: %s", self.circuit.reason, ADVICE[QUOTA])
        self._publish()

    def call_answered(self) -> None:
        """The endpoint answered a call (whatever the reply)."""
        self.call_answers += 1
        now, reason = self._clock(), self.circuit.reason
        paused = self.circuit.paused_for(now)
        if self.circuit.call_answered():
            self._closed(reason, paused)

    async def _probe_until_answered(self) -> None:
        circuit = self.circuit
        while not circuit.available and self._fatal is None:
            now = self._clock()
            wait = min(circuit.probe_wait(now), circuit.reminder_wait(now))
            if wait > 0:
                # An answered call closes the circuit meanwhile: stop waiting then.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._available.wait(), wait)
                continue
            if circuit.take_reminder(now):
                log.warning(
                    "LLM still unavailable (%s) after %.0f s: %s; reading stays paused, next "
                    "probe in %.0f s. Last error: %s",
                    circuit.reason, circuit.paused_for(now), ADVICE[circuit.reason or QUOTA],
                    circuit.probe_wait(now), circuit.detail,
                )  # fmt: skip
            if circuit.probe_wait(now) == 0:
                await self._probe_once()

    async def _probe_once(self) -> None:
        circuit = self.circuit
        reason, paused = circuit.reason, circuit.paused_for(self._clock())
        circuit.probe_started()
        try:
            await self._probe()
        except LLMUnavailableError as exc:
            circuit.probe_failed(exc.reason, str(exc), self._clock(), exc.retry_after_s)
            self._publish()
            return
        except FatalLLMError as exc:
            self._fatal = exc  # the waiting calls raise it: the worker stops with its message
            self._available.set()
            return
        except RetriableLLMError:
            pass  # rejected, but answered: the endpoint is back
        except Exception as exc:
            log.exception("the LLM probe failed unexpectedly; probing again with backoff")
            circuit.probe_failed(circuit.reason or REASONS[0], repr(exc), self._clock())
            return
        self.probe_answers += 1
        if circuit.probe_answered():
            self._closed(reason, paused)

    def _closed(self, reason: str | None, paused_s: float) -> None:
        log.warning("LLM available again after %.0f s (%s); reading resumes", paused_s, reason)
        self._available.set()
        self._publish()

    def _publish(self) -> None:
        metrics.LLM_AVAILABLE.set(1 if self.circuit.available else 0)
        for reason in REASONS:
            metrics.LLM_UNAVAILABLE.labels(reason).set(1 if reason == self.circuit.reason else 0)

    async def close(self) -> None:
        if self._prober is not None:
            self._prober.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._prober
