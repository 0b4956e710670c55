"""The server's rate-limit budget as OpenAI reports it on every response. Pure: no I/O.

``x-ratelimit-limit-requests`` / ``-tokens`` is the account's limit, ``x-ratelimit-remaining-*``
what is left of it now, after this request, and ``x-ratelimit-reset-*`` the time until the
budget is full again, in Go's duration format ('120ms', '1.5s', '6m0s'). Servers that send
none of them (vLLM, Ollama, llama.cpp, most proxies) give a budget with neither part, and the
client-side limiter works from its settings alone.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

_UNIT_S: Final = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_PART: Final = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(h|ms|m|s|us|µs|ns)")

#: The limits refill over a minute (RPM, TPM). A bucket whose reset says it refills much
#: slower is another kind of limit (a daily one: some OpenAI-compatible providers send their
#: requests-per-day in these headers) and is not a per-minute budget to follow.
MINUTE_S: Final = 60.0
_LONGEST_WINDOW_S: Final = 2 * MINUTE_S


def parse_duration(text: str) -> float | None:
    """Seconds in a Go duration ('120ms', '1.5s', '6m0s', '1h2m'), a bare number of seconds,
    or None when it is neither."""
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        parts = _PART.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            return None
        seconds = sum(float(number) * _UNIT_S[unit] for number, unit in parts)
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


@dataclass(frozen=True)
class BudgetSnapshot:
    """One resource (requests or tokens) of the account's budget at one moment."""

    limit: float
    remaining: float
    #: Seconds until the budget is full again; None when the header is absent or unreadable.
    reset_s: float | None = None

    @property
    def fraction_left(self) -> float:
        return min(1.0, self.remaining / self.limit)

    def refills_per_minute(self) -> bool:
        """Whether the reset agrees with a budget that refills over a minute (True when it
        cannot tell: too little is missing for the rounded reset to mean anything)."""
        missing = self.limit - self.remaining
        if self.reset_s is None or missing < max(2.0, 0.05 * self.limit):
            return True
        return self.reset_s * self.limit / missing <= _LONGEST_WINDOW_S


@dataclass(frozen=True)
class ServerBudget:
    """What one response said of the requests and tokens budgets; None: not said."""

    requests: BudgetSnapshot | None = None
    tokens: BudgetSnapshot | None = None

    @property
    def known(self) -> bool:
        return self.requests is not None or self.tokens is not None


def read_budget(headers: Mapping[str, str] | None) -> ServerBudget:
    """The budget in a response's headers (``httpx.Headers`` looks names up case-blind; a
    plain dict must carry them in lower case, as OpenAI sends them)."""
    if not headers:
        return ServerBudget()
    return ServerBudget(_snapshot(headers, "requests"), _snapshot(headers, "tokens"))


def _snapshot(headers: Mapping[str, str], resource: str) -> BudgetSnapshot | None:
    limit = _number(headers.get(f"x-ratelimit-limit-{resource}"))
    remaining = _number(headers.get(f"x-ratelimit-remaining-{resource}"))
    if limit is None or remaining is None or limit <= 0:
        return None  # half a budget cannot be followed: the settings alone apply
    reset = headers.get(f"x-ratelimit-reset-{resource}")
    snapshot = BudgetSnapshot(
        limit, min(remaining, limit), parse_duration(reset) if reset is not None else None
    )
    return snapshot if snapshot.refills_per_minute() else None


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None
