"""The faults the local LLM server can inject, and what each does to a reply. Pure: no I/O.

HTTP faults (429, 5xx, timeouts) are what the client's retry policy must survive; content faults
(bad JSON, cut replies, refusals, wrong ids, bad scores) are what the reply parser must catch.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import Any, Final

from streams.categories import CATEGORIES
from streams.llm.prompt import ID_MAX, ID_MIN, REPLY_KEY, render_reply


class FaultKind(StrEnum):
    RATE_LIMIT = "rate_limit"  # 429 with Retry-After and retry-after-ms
    SERVER_ERROR = "server_error"  # 500
    BAD_GATEWAY = "bad_gateway"  # 502, an HTML page as proxies send it
    UNAVAILABLE = "unavailable"  # 503
    TIMEOUT = "timeout"  # no answer for hang_s seconds
    NOT_JSON = "not_json"
    TRUNCATED = "truncated"  # finish_reason "length", content cut
    REFUSAL = "refusal"  # message.refusal set, no content
    MISSING_IDS = "missing_ids"
    EXTRA_IDS = "extra_ids"
    WRONG_IDS = "wrong_ids"
    OUT_OF_RANGE = "out_of_range"
    STRING_SCORES = "string_scores"
    #: 429 with error code insufficient_quota and no Retry-After, as OpenAI answers an
    #: account out of credit. Not among the random faults: only scripted or as an outage.
    QUOTA_EXHAUSTED = "insufficient_quota"


HTTP_FAULTS: Final = frozenset(
    {
        FaultKind.RATE_LIMIT,
        FaultKind.SERVER_ERROR,
        FaultKind.BAD_GATEWAY,
        FaultKind.UNAVAILABLE,
        FaultKind.TIMEOUT,
        FaultKind.QUOTA_EXHAUSTED,
    }
)
#: The faults drawn at random by default: each a single request's bad luck.
RANDOM_FAULTS: Final = tuple(k for k in FaultKind if k is not FaultKind.QUOTA_EXHAUSTED)

REFUSAL_TEXT: Final = "I'm sorry, but I can't help with that request."


@dataclass
class FaultConfig:
    """What the fake does wrong, and how slowly. Mutable: tests change it while it runs."""

    #: Share of requests (0..1) that get a fault, drawn from ``fault_kinds``.
    fault_rate: float = 0.0
    fault_kinds: tuple[FaultKind, ...] = RANDOM_FAULTS
    #: Faults for the next requests, one each, in order, before any random ones.
    scripted: list[FaultKind] = field(default_factory=list)
    latency_ms: float = 0.0
    retry_after_s: float = 1.0
    #: How long a TIMEOUT fault keeps the client waiting; more than its timeout.
    hang_s: float = 30.0
    #: When set, any other bearer token gets 401.
    api_key: str | None = None
    #: Models that exist; others get 404. None accepts any model name.
    models: tuple[str, ...] | None = ("gpt-4o-mini", "gpt-4o")
    #: Seed of the fault and corruption choices, so a run can be replayed.
    seed: int = 0
    #: Real rate limits (requests and tokens per minute), enforced with 429s; None: no limit.
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    #: Answer json_schema response formats with 400, as endpoints without structured output do.
    reject_json_schema: bool = False
    #: An outage: every request gets ``outage_kind`` until ``outage_until`` (the server's
    #: time.monotonic()). ``POST /_faults {"outage_s": 60}`` starts one for 60 s from now.
    outage_kind: FaultKind = FaultKind.UNAVAILABLE
    outage_until: float = 0.0

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply ``changes`` (field name -> value, as JSON gives them), validating each."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown fault settings {sorted(unknown)}; known: {sorted(known)}")
        # Check the whole result first, so a bad request leaves the running config untouched.
        candidate = replace(self, **{name: _coerce(name, v) for name, v in changes.items()})
        candidate.validate()
        for name in changes:
            setattr(self, name, getattr(candidate, name))

    def validate(self) -> None:
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError("fault_rate must be within 0..1")
        if self.latency_ms < 0 or self.retry_after_s < 0 or self.hang_s < 0:
            raise ValueError("latency_ms, retry_after_s and hang_s cannot be negative")
        if any(limit is not None and limit < 1 for limit in (self.rpm_limit, self.tpm_limit)):
            raise ValueError("rpm_limit and tpm_limit must be at least 1 (or null: no limit)")

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _coerce(name: str, value: Any) -> Any:
    if name == "fault_kinds":
        return tuple(FaultKind(v) for v in value)
    if name == "scripted":
        return [FaultKind(v) for v in value]
    if name == "models":
        return None if value is None else tuple(str(v) for v in value)
    if name in {"fault_rate", "latency_ms", "retry_after_s", "hang_s"}:
        return float(value)
    if name == "seed":
        return int(value)
    if name in {"rpm_limit", "tpm_limit"}:
        return None if value is None else int(value)
    if name == "reject_json_schema":
        return bool(value)
    if name == "outage_kind":
        return FaultKind(value)
    if name == "outage_until":
        return float(value)
    return value


def choose_fault(config: FaultConfig, rng: random.Random, now: float = 0.0) -> FaultKind | None:
    """The fault for the next request at time ``now``, or None for a good reply."""
    if now < config.outage_until:
        return config.outage_kind
    if config.scripted:
        return config.scripted.pop(0)
    if config.fault_kinds and rng.random() < config.fault_rate:
        return rng.choice(config.fault_kinds)
    return None


@dataclass(frozen=True)
class ReplyContent:
    content: str | None
    refusal: str | None = None
    finish_reason: str = "stop"


def good_reply(rows: Iterable[tuple[int, Mapping[str, float]]]) -> ReplyContent:
    return ReplyContent(render_reply(rows))


def faulty_reply(
    kind: FaultKind, rows: Sequence[tuple[int, Mapping[str, float]]], rng: random.Random
) -> ReplyContent:
    """The reply to ``rows`` (item id, scores) spoiled the way ``kind`` says."""
    if kind is FaultKind.NOT_JSON:
        return ReplyContent("Sure! Here are the scores you asked for: toxic 0.1, insult 0.0")
    if kind is FaultKind.REFUSAL:
        return ReplyContent(None, refusal=REFUSAL_TEXT)
    if kind is FaultKind.TRUNCATED:
        full = render_reply(rows)
        return ReplyContent(full[: max(1, len(full) // 2)], finish_reason="length")
    items: list[list[Any]] = json.loads(render_reply(rows))[REPLY_KEY]
    _spoil_items(kind, items, rng)
    return ReplyContent(json.dumps({REPLY_KEY: items}, separators=(",", ":")))


def _spoil_items(kind: FaultKind, items: list[list[Any]], rng: random.Random) -> None:
    victim = rng.randrange(len(items))
    if kind is FaultKind.MISSING_IDS:
        del items[victim]
    elif kind is FaultKind.EXTRA_IDS:
        items.append([_unused_id({row[0] for row in items}, rng), "toxic", 0.5])
    elif kind is FaultKind.WRONG_IDS:
        items[victim][0] = _unused_id({row[0] for row in items}, rng)
    elif kind is FaultKind.OUT_OF_RANGE:
        _set_first_score(items[victim], rng.choice([1.7, -0.2, 12.0]))
    elif kind is FaultKind.STRING_SCORES:
        row = items[victim]
        _set_first_score(row, str(row[2]) if len(row) > 2 else "0.4")
    else:
        raise ValueError(f"{kind} is not a content fault")


def _set_first_score(row: list[Any], value: Any) -> None:
    if len(row) > 2:
        row[2] = value
    else:
        row.extend((CATEGORIES[0], value))


def _unused_id(taken: set[Any], rng: random.Random) -> int:
    while True:
        candidate = rng.randint(ID_MIN, ID_MAX)
        if candidate not in taken:
            return candidate
