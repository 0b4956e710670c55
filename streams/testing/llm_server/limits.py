"""Requests-per-minute and tokens-per-minute limits as OpenAI applies them, for the fake server.

Random 429s test the retry path; a real limit tests whether a client fills it without a storm
of them. OpenAI admits a request against its token limit by the prompt plus ``max_tokens``
(what the reply may cost, not what it will), refilling continuously over the minute.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

_MINUTE_S: Final = 60.0


@dataclass
class _Bucket:
    capacity: float
    level: float
    updated: float

    def refill(self, now: float) -> None:
        rate = self.capacity / _MINUTE_S
        self.level = min(self.capacity, self.level + (now - self.updated) * rate)
        self.updated = now

    def wait_for(self, amount: float) -> float:
        """Seconds until ``amount`` is available (0 when it is now)."""
        missing = amount - self.level
        return 0.0 if missing <= 0 else missing * _MINUTE_S / self.capacity

    def reset_s(self) -> float:
        return self.wait_for(self.capacity)


@dataclass(frozen=True)
class Admission:
    #: Seconds to wait before the request can be admitted; 0 when it was admitted.
    retry_after_s: float
    #: The request can never fit (more tokens than a whole minute's limit).
    too_large: bool = False

    @property
    def admitted(self) -> bool:
        return self.retry_after_s == 0 and not self.too_large


class RateLimits:
    """RPM and TPM token buckets; a limit of None does not apply."""

    def __init__(
        self,
        rpm: int | None,
        tpm: int | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rpm = rpm
        self.tpm = tpm
        self._clock = clock
        now = clock()
        self._requests = _Bucket(rpm, rpm, now) if rpm else None
        self._tokens = _Bucket(tpm, tpm, now) if tpm else None

    def admit(self, tokens: int) -> Admission:
        """Charge one request of ``tokens`` if both limits allow it now, else say how long."""
        now = self._clock()
        if self.tpm and tokens > self.tpm:
            return Admission(0.0, too_large=True)
        waits = []
        for bucket, amount in ((self._requests, 1), (self._tokens, tokens)):
            if bucket is not None:
                bucket.refill(now)
                waits.append(bucket.wait_for(amount))
        wait = max(waits, default=0.0)
        if wait > 0:
            return Admission(wait)
        if self._requests is not None:
            self._requests.level -= 1
        if self._tokens is not None:
            self._tokens.level -= tokens
        return Admission(0.0)

    def headers(self) -> dict[str, str]:
        """The x-ratelimit-* headers OpenAI sends with every response: the budget as it is
        now, refilled up to this moment (not as the last admission left it, which a response
        sent after its latency, or a 401 between admissions, would report stale)."""
        headers: dict[str, str] = {}
        now = self._clock()
        for name, bucket in (("requests", self._requests), ("tokens", self._tokens)):
            if bucket is not None:
                bucket.refill(now)
                headers[f"x-ratelimit-limit-{name}"] = str(int(bucket.capacity))
                headers[f"x-ratelimit-remaining-{name}"] = str(max(0, math.floor(bucket.level)))
                headers[f"x-ratelimit-reset-{name}"] = duration(bucket.reset_s())
        return headers


def duration(seconds: float) -> str:
    """OpenAI's reset format: '120ms', '1.5s', '6m0s'."""
    if seconds < 1:
        return f"{math.ceil(seconds * 1000)}ms"
    if seconds < _MINUTE_S:
        return f"{math.ceil(seconds * 10) / 10:g}s"
    minutes, rest = divmod(math.ceil(seconds), 60)
    return f"{minutes}m{rest}s"
