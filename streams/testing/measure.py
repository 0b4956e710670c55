"""What a benchmark run measured: one verdict per post, latencies, throughput, LLM usage. Pure."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from streams.models.scored import ScoredStatus


@dataclass(frozen=True)
class Collected:
    """One record read back from the scored or the dead-letter topic."""

    topic: str
    key: bytes | None
    value: bytes | None
    #: The record's Kafka timestamp (set by the producer that published it), ms since the epoch.
    timestamp_ms: int


@dataclass(frozen=True)
class Expected:
    """A post that went in: when it was produced and the scores the LLM server gives it."""

    produced_ms: int
    scores: Mapping[str, float]


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile ``q`` (0 < q <= 100) of ``values``; 0.0 when empty."""
    if not 0 < q <= 100:
        raise ValueError("q must be in (0, 100]")
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass(frozen=True)
class Tally:
    """One run's outcome, from the records on the scored and dead-letter topics."""

    posts_in: int
    scored: int
    dead_lettered: int
    lost: int
    #: Scored records whose scores differ from the LLM server's: zeros (or anything) it never sent.
    zero_scored_without_reply: int
    #: Records beyond the first one per post.
    duplicates: int
    #: Latency of each post's first output: its Kafka timestamp minus the post's produce time.
    latencies_ms: tuple[float, ...]
    #: Kafka timestamps of the first and the last post's first output (0 when there is none).
    first_output_ms: int
    last_output_ms: int

    @property
    def handled(self) -> int:
        return self.scored + self.dead_lettered


def tally(
    records: Sequence[Collected], expected: Mapping[str, Expected], scored_topic: str
) -> Tally:
    """Count what came out for the posts in ``expected``; records of other keys are ignored."""
    counts: Counter[str] = Counter()
    first: dict[str, Collected] = {}
    scored: set[str] = set()
    dead: set[str] = set()
    wrong = 0
    for record in records:
        status_id = (record.key or b"").decode(errors="replace")
        if status_id not in expected:
            continue
        counts[status_id] += 1
        if status_id not in first or record.timestamp_ms < first[status_id].timestamp_ms:
            first[status_id] = record
        if record.topic != scored_topic:
            dead.add(status_id)
            continue
        scored.add(status_id)
        if not _scores_match(record.value, expected[status_id].scores):
            wrong += 1
    latencies = tuple(
        float(record.timestamp_ms - expected[status_id].produced_ms)
        for status_id, record in first.items()
    )
    stamps = [record.timestamp_ms for record in first.values()]
    return Tally(
        posts_in=len(expected),
        scored=len(scored),
        dead_lettered=len(dead - scored),
        lost=sum(1 for status_id in expected if status_id not in first),
        zero_scored_without_reply=wrong,
        duplicates=sum(count - 1 for count in counts.values()),
        latencies_ms=latencies,
        first_output_ms=min(stamps, default=0),
        last_output_ms=max(stamps, default=0),
    )


def _scores_match(value: bytes | None, scores: Mapping[str, float]) -> bool:
    if not value:
        return False
    try:
        record = ScoredStatus.model_validate_json(value)
    except ValidationError:
        return False
    return record.scores.as_dict() == dict(scores)


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else 0.0


def run_summary(result: Tally, started_ms: int) -> dict[str, Any]:
    """The JSON section of one run: outcome counts, throughput and latency.

    ``wall_s`` runs from the consumer's start (the worker process's launch, or the baseline's
    first line) to the last post's output, so start-up counts; ``steady_posts_per_s`` leaves it
    out (first output to last).
    """
    wall_s = (result.last_output_ms - started_ms) / 1000 if result.handled else 0.0
    steady_s = (result.last_output_ms - result.first_output_ms) / 1000
    return {
        "posts_in": result.posts_in,
        "scored": result.scored,
        "dead_lettered": result.dead_lettered,
        "lost": result.lost,
        "zero_scored_without_reply": result.zero_scored_without_reply,
        "duplicates": result.duplicates,
        "wall_s": round(wall_s, 3),
        "posts_per_s": _rate(result.handled, wall_s),
        "startup_s": round((result.first_output_ms - started_ms) / 1000, 3)
        if result.handled
        else None,
        "steady_posts_per_s": _rate(max(result.handled - 1, 0), steady_s),
        "latency_ms": {
            "p50": percentile(result.latencies_ms, 50),
            "p99": percentile(result.latencies_ms, 99),
            "max": max(result.latencies_ms, default=0.0),
        },
    }


def llm_usage(before: Mapping[str, Any], after: Mapping[str, Any], posts: int) -> dict[str, Any]:
    """What the local LLM server counted between two ``/_stats`` snapshots, per post."""

    def delta(name: str) -> int:
        return int(after.get(name, 0)) - int(before.get(name, 0))

    calls = delta("requests")
    faults = sum(after.get("faults", {}).values()) - sum(before.get("faults", {}).values())
    return {
        "llm_calls": calls,
        "posts_per_llm_call": round(posts / calls, 2) if calls else None,
        "llm_faults_injected": faults,
        "input_tokens_per_post": round(delta("prompt_tokens") / posts, 1) if posts else None,
        "output_tokens_per_post": round(delta("completion_tokens") / posts, 2) if posts else None,
    }


def guarantees_held(lost: int, failure_zeroed: int) -> bool:
    """The two delivery guarantees: no post lost, none published with scores the LLM did not
    give."""
    return lost == 0 and failure_zeroed == 0
