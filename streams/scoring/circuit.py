"""The state machine of the LLM circuit breaker. Pure: the caller passes the time and does the I/O
(:mod:`streams.scoring.breaker`).

``closed``: calls go through. ``failures_to_open`` whole calls in a row that find the endpoint
unavailable, each after the backend's own retries, open it; quota exhaustion opens it at once,
since no retry soon can help. ``open``: callers wait, and a probe is due after a backoff that
doubles with every failed probe, and is never shorter than the Retry-After the server gave.
``probing``: the probe is in flight; callers still wait. Any answer from the endpoint, to a
probe or to a call that was already under way, closes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from streams.errors import UNAVAILABLE_REASONS as REASONS

QUOTA: Final = "insufficient_quota"
#: An open circuit is logged when it opens, then at most this often (not per call).
REMINDER_INTERVAL_S: Final = 60.0


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    PROBING = "probing"


@dataclass
class Circuit:
    failures_to_open: int
    probe_backoff_s: float
    probe_backoff_max_s: float
    reminder_interval_s: float = REMINDER_INTERVAL_S
    state: State = State.CLOSED
    #: Why it is open (one of REASONS), and the last error's message; None while closed.
    reason: str | None = None
    detail: str = ""
    consecutive_failures: int = 0
    #: Probes that failed since the endpoint last answered a real call: the backoff exponent.
    failed_probes: int = 0
    opened_at: float = 0.0
    next_probe_at: float = 0.0
    last_reminder_at: float = 0.0

    def __post_init__(self) -> None:
        if self.failures_to_open < 1:
            raise ValueError("failures_to_open must be at least 1")
        if not 0 < self.probe_backoff_s <= self.probe_backoff_max_s:
            raise ValueError("need 0 < probe_backoff_s <= probe_backoff_max_s")

    @property
    def available(self) -> bool:
        return self.state is State.CLOSED

    def call_failed(
        self, reason: str, detail: str, now: float, retry_after_s: float | None = None
    ) -> bool:
        """A whole call found the endpoint unavailable. True when this opened the circuit."""
        _check(reason)
        if not self.available:
            if reason == QUOTA:  # the more specific news: no probe backoff will outwait it
                self.reason, self.detail = reason, detail
            return False
        self.consecutive_failures += 1
        if self.consecutive_failures < self.failures_to_open and reason != QUOTA:
            return False
        self.state = State.OPEN
        self.reason, self.detail = reason, detail
        self.opened_at = self.last_reminder_at = now
        self.next_probe_at = now + self._probe_delay(retry_after_s)
        return True

    def call_answered(self) -> bool:
        """The endpoint answered a call, valid reply or not. True when this closed the circuit."""
        self.consecutive_failures = 0
        self.failed_probes = 0
        return self._close()

    def probe_wait(self, now: float) -> float:
        """Seconds until the next probe is due: 0 when it is, inf when none is (closed, or
        a probe in flight)."""
        if self.state is not State.OPEN:
            return float("inf")
        return max(0.0, self.next_probe_at - now)

    def probe_started(self) -> None:
        if self.state is State.OPEN:
            self.state = State.PROBING

    def probe_failed(
        self, reason: str, detail: str, now: float, retry_after_s: float | None = None
    ) -> None:
        _check(reason)
        if self.available:  # a call got an answer while the probe was out: stay closed
            return
        self.failed_probes += 1
        self.state = State.OPEN
        self.reason, self.detail = reason, detail
        self.next_probe_at = now + self._probe_delay(retry_after_s)

    def probe_answered(self) -> bool:
        """True when this closed the circuit. The backoff exponent stays until a real call is
        answered: an endpoint that answers probes and fails calls is probed ever more rarely."""
        self.consecutive_failures = 0
        return self._close()

    def paused_for(self, now: float) -> float:
        return 0.0 if self.available else now - self.opened_at

    def reminder_wait(self, now: float) -> float:
        """Seconds until the open circuit is due to be logged again (inf while closed)."""
        if self.available:
            return float("inf")
        return max(0.0, self.last_reminder_at + self.reminder_interval_s - now)

    def take_reminder(self, now: float) -> bool:
        """True (once per interval) when the open circuit should be logged again."""
        if self.reminder_wait(now) > 0:
            return False
        self.last_reminder_at = now
        return True

    def _close(self) -> bool:
        if self.available:
            return False
        self.state, self.reason, self.detail = State.CLOSED, None, ""
        return True

    def _probe_delay(self, retry_after_s: float | None) -> float:
        doublings = min(self.failed_probes, 40)  # 2.0**n overflows for a long enough outage
        backoff = min(self.probe_backoff_max_s, self.probe_backoff_s * 2.0**doublings)
        return max(backoff, retry_after_s or 0.0)


def _check(reason: str) -> None:
    if reason not in REASONS:
        raise ValueError(f"unknown unavailability reason {reason!r}; known: {REASONS}")
