"""What ``streams chaos`` sends and what must come out of it. Pure: no I/O.

Posts are the benchmark's (distinct texts, one in three toxic, scored by the lexicon the local
LLM server uses), cut into waves. Corrections are moderators' verdicts on a subset of the
posts, each sent in a wave after its post's, so its text is on the raw topic before it. What
must come out: every post scored with the lexicon's scores or dead-lettered, and, per corrected
post, the training example the harvest policy builds from the corrections sent.
"""

from __future__ import annotations

import bisect
import json
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from pydantic import ValidationError

from streams.categories import CATEGORIES
from streams.harvest.policy import build_training_example
from streams.models.corrections import Correction, TrainingExample
from streams.testing.corpus import BenchPost
from streams.testing.measure import Collected, Expected, tally

SOURCES: Final = ("user_report", "appeal", "admin_override")
FEEDBACK_TYPES: Final = ("false_positive", "false_negative", "other")
#: Corrections are dated after this (and before now: future timestamps are refused).
_EPOCH: Final = datetime(2026, 1, 1, tzinfo=UTC)
#: One correction in this many carries the post's text, as a platform that has it would send.
TEXT_EVERY: Final = 5


def split_waves(count: int, waves: int) -> list[range]:
    """``range(count)`` cut into ``waves`` consecutive parts whose sizes differ by at most one."""
    if waves < 1:
        raise ValueError(f"waves must be at least 1, got {waves}")
    bounds = [count * i // waves for i in range(waves + 1)]
    return [range(bounds[i], bounds[i + 1]) for i in range(waves)]


@dataclass(frozen=True)
class SentCorrection:
    """One correction: the record sent (key and JSON value) and the wave it is sent in."""

    status_id: str
    value: bytes
    wave: int

    @property
    def key(self) -> bytes:
        return self.status_id.encode()

    def parsed(self) -> Correction:
        return Correction.model_validate_json(self.value)


def corrected_posts(posts: int, statuses: int, waves: Sequence[range]) -> list[int]:
    """Indices of the posts that get corrections: ``statuses`` of them, evenly spread over the
    waves before the last (a correction goes out in a wave after its post's)."""
    eligible = waves[-2].stop if len(waves) > 1 else posts
    statuses = min(statuses, eligible)
    if statuses <= 0:
        return []
    return [i * eligible // statuses for i in range(statuses)]


def make_corrections(
    posts: Sequence[BenchPost], count: int, statuses: int, waves: Sequence[range], seed: int
) -> list[SentCorrection]:
    """``count`` corrections over ``statuses`` posts (each gets one before any gets a second),
    with random sources, feedback types, categories, time zones and send waves."""
    rng = random.Random(seed)
    targets = corrected_posts(len(posts), statuses, waves)
    if not targets:
        return []
    wave_of = {index: w for w, part in enumerate(waves) for index in part}
    last = len(waves) - 1
    sent = []
    for number in range(count):
        post = posts[targets[number % len(targets)]]
        post_wave = wave_of[targets[number % len(targets)]]
        moment = _EPOCH + timedelta(minutes=rng.randint(0, 50_000), seconds=rng.randint(0, 59))
        zone = rng.choice([0, 2, -5])
        local = moment + timedelta(hours=zone)
        suffix = "Z" if zone == 0 else f"{zone:+03d}:00"
        record: dict[str, Any] = {
            "correction_id": f"chaos-{seed}-{number}",
            "status_id": post.status_id,
            "feedback_type": rng.choice(FEEDBACK_TYPES),
            "expected_categories": rng.sample(CATEGORIES, rng.randint(0, 3)),
            "actual_categories": rng.sample(CATEGORIES, rng.randint(0, 2)),
            "source": rng.choice(SOURCES),
            "actor_id": f"mod{rng.randint(1, 40)}",
            "timestamp": local.strftime("%Y-%m-%dT%H:%M:%S") + suffix,
        }
        if number % TEXT_EVERY == TEXT_EVERY - 1:
            parsed = post.parsed()
            record["text"], record["language"] = parsed.text, parsed.language
        wave = rng.randint(post_wave + 1, last) if post_wave < last else last
        sent.append(SentCorrection(post.status_id, json.dumps(record).encode(), wave))
    return sent


def comparable(example: TrainingExample) -> dict[str, Any]:
    """An example as JSON without ``harvested_at``, the one field that depends on the run."""
    return example.model_dump(mode="json", exclude={"harvested_at"})


def expected_examples(
    posts: Sequence[BenchPost], corrections: Iterable[SentCorrection]
) -> dict[str, dict[str, Any]]:
    """What the harvest policy makes of the corrections, per post, given the posts' texts."""
    by_status: dict[str, list[Correction]] = defaultdict(list)
    for sent in corrections:
        by_status[sent.status_id].append(sent.parsed())
    texts = {p.status_id: p.parsed() for p in posts if p.status_id in by_status}
    now = datetime.now(UTC)
    expected = {}
    for status_id, corrections_of_post in by_status.items():
        post = texts[status_id]
        example = build_training_example(
            status_id, corrections_of_post, post.text, post.language, harvested_at=now
        )
        if example is None:  # cannot happen: every post has a text
            raise ValueError(f"the policy made no example for status {status_id}")
        expected[status_id] = comparable(example)
    return expected


def export_mismatches(
    expected: Mapping[str, Mapping[str, Any]], latest: Mapping[str, bytes | None]
) -> list[str]:
    """Status ids whose current example (latest record on the training topic) is not the one the
    policy makes: missing, erased, unreadable, different, or there while no example is due."""
    wrong = []
    for status_id in sorted(set(expected) | set(latest)):
        value = latest.get(status_id)
        want = expected.get(status_id)
        if value is None or want is None:
            wrong.append(status_id)
            continue
        try:
            got = comparable(TrainingExample.model_validate_json(value))
        except ValidationError:
            wrong.append(status_id)
            continue
        if got != want:
            wrong.append(status_id)
    return wrong


def jsonl_missing(
    expected: Mapping[str, Mapping[str, Any]], lines: Iterable[Mapping[str, Any]]
) -> list[str]:
    """Status ids whose expected example is in no JSONL line (``harvested_at`` aside)."""
    found = set()
    for line in lines:
        status_id = line.get("status_id")
        if not isinstance(status_id, str) or status_id not in expected:
            continue
        if {k: v for k, v in line.items() if k != "harvested_at"} == expected[status_id]:
            found.add(status_id)
    return sorted(set(expected) - found)


@dataclass(frozen=True)
class ObservedRecord:
    """A record read back from the scored or the dead-letter topic."""

    record: Collected
    #: The dead letter's ``dlq.stage`` and ``dlq.reason``; None for a scored record.
    stage: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class OutputVerdict:
    posts: int
    scored: int
    dead_lettered: int
    dead_lettered_by_reason: dict[str, int]
    lost: list[str]
    failure_zeroed: int
    duplicates: int
    #: Dead letters of the harvester (corrections), by reason; they are not posts' outputs.
    corrections_dead_lettered: dict[str, int]

    @property
    def duplicates_pct(self) -> float:
        return round(100 * self.duplicates / self.posts, 3) if self.posts else 0.0


def judge_outputs(
    outputs: Sequence[ObservedRecord], expected: Mapping[str, Expected], scored_topic: str
) -> OutputVerdict:
    """Every post scored with the scorer's scores or dead-lettered; duplicates counted.

    The harvester's dead letters share the topic with the classifier's and carry a post's id
    as key; they are counted apart and never as a post's output.
    """
    classifier = [o for o in outputs if o.stage != "harvest"]
    result = tally([o.record for o in classifier], expected, scored_topic)
    handled = {(o.record.key or b"").decode(errors="replace") for o in classifier}
    scored = {
        (o.record.key or b"").decode(errors="replace")
        for o in classifier
        if o.record.topic == scored_topic
    }
    last_reason: dict[str, str] = {}
    for output in classifier:
        key = (output.record.key or b"").decode(errors="replace")
        if output.record.topic != scored_topic and key in expected:
            last_reason[key] = output.reason or "unknown"
    reasons = Counter(reason for key, reason in last_reason.items() if key not in scored)
    harvest = Counter(o.reason or "unknown" for o in outputs if o.stage == "harvest")
    return OutputVerdict(
        posts=result.posts_in,
        scored=result.scored,
        dead_lettered=result.dead_lettered,
        dead_lettered_by_reason=dict(sorted(reasons.items())),
        lost=sorted(status_id for status_id in expected if status_id not in handled),
        failure_zeroed=result.zero_scored_without_reply,
        duplicates=result.duplicates,
        corrections_dead_lettered=dict(sorted(harvest.items())),
    )


def attribute_duplicates(
    arrivals: Iterable[tuple[str, float]], fault_starts: Sequence[float]
) -> tuple[list[int], int]:
    """Blame each duplicate on the last fault begun before it arrived.

    ``arrivals`` are (post id, time read) of the classifier's outputs, ``fault_starts`` the
    times the faults began, ascending. Returns the duplicates per fault and those that came
    before any fault.
    """
    seen: set[str] = set()
    per_fault = [0] * len(fault_starts)
    before = 0
    for status_id, at in sorted(arrivals, key=lambda a: a[1]):
        if status_id not in seen:
            seen.add(status_id)
            continue
        index = bisect.bisect_right(fault_starts, at) - 1
        if index < 0:
            before += 1
        else:
            per_fault[index] += 1
    return per_fault, before
