"""Which dead letters a replay re-publishes, and the tally it prints. Pure: no Kafka.

A dead letter is read through its ``dlq.*`` headers, by name and leniently: any
``dlq.schema_version``, unknown headers ignored, only where it came from (topic, partition,
offset) and why (stage, reason) required. A reader bound to today's ``DeadLetterHeaders``
would refuse every dead letter written before a schema bump, the very ones a replay after an
upgrade is for.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from streams.harvest.timefilter import in_window
from streams.models.dead_letter import HEADER_PREFIX, Stage
from streams.models.replay_marker import ReplayMarker

STAGES: Final = tuple(get_args(Stage))
#: Parse failures are the record's own bytes: replayed, they fail again unless the parser
#: changed, so they are replayed only when asked for by name.
DEFAULT_STAGES: Final = frozenset(STAGES) - {"parse"}
#: The message a dead letter carries when its value had to be cut (streams.kafka.records).
VALUE_CUT_PREFIX: Final = "value cut from "


class Origin(BaseModel):
    """Where a dead letter came from and why, read from its ``dlq.*`` headers."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    schema_version: int = Field(1, ge=1)
    original_topic: str = Field(pattern=r"^[A-Za-z0-9._-]{1,249}$")
    original_partition: int = Field(ge=0)
    original_offset: int = Field(ge=0)
    stage: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    message: str = ""

    @property
    def value_cut(self) -> bool:
        """The dead letter holds only the start of the original value."""
        return self.message.startswith(VALUE_CUT_PREFIX)

    @property
    def place(self) -> tuple[str, int, int]:
        return self.original_topic, self.original_partition, self.original_offset


def read_origin(headers: Iterable[tuple[str, bytes]]) -> Origin | None:
    """The origin in ``headers``; None when one is missing, repeated, not UTF-8 or invalid."""
    values: dict[str, str] = {}
    for name, raw in headers:
        if not name.startswith(HEADER_PREFIX):
            continue
        field_name = name.removeprefix(HEADER_PREFIX)
        if field_name in values:
            return None
        try:
            values[field_name] = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
    try:
        return Origin.model_validate(values)
    except ValidationError:
        return None


@dataclass(frozen=True)
class DeadLetter:
    """One record of the dead-letter topic, as a replay needs it (the value is read later)."""

    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    origin: Origin | None


class Outcome(StrEnum):
    REPLAY = "replay"
    ALREADY_REPLAYED = "already_replayed"
    SUPERSEDED = "superseded"
    DUPLICATE = "duplicate"
    OTHER_STAGE = "other_stage"
    OTHER_REASON = "other_reason"
    OUTSIDE_WINDOW = "outside_window"
    UNREADABLE = "unreadable"
    VALUE_CUT = "value_cut"
    TOPIC_MISSING = "topic_missing"
    #: Chosen, but gone from the dead-letter topic (retention) before it could be re-read.
    GONE = "gone"


#: Outcomes of dead letters the filters left out.
FILTERED: Final = frozenset({Outcome.OTHER_STAGE, Outcome.OTHER_REASON, Outcome.OUTSIDE_WINDOW})
#: Outcomes of dead letters that were selected but cannot be replayed: the exit status says so.
CANNOT: Final = frozenset(
    {Outcome.UNREADABLE, Outcome.VALUE_CUT, Outcome.TOPIC_MISSING, Outcome.GONE}
)


@dataclass(frozen=True)
class Criteria:
    """What to replay: empty ``reasons`` means every reason; bounds are UTC, ``until``
    exclusive, compared with the time the record was dead-lettered (its timestamp)."""

    reasons: frozenset[str] = frozenset()
    stages: frozenset[str] = DEFAULT_STAGES
    since: datetime | None = None
    until: datetime | None = None


def select(
    letter: DeadLetter,
    criteria: Criteria,
    marker: ReplayMarker | None,
    topics: frozenset[str],
) -> Outcome:
    """The outcome of one dead letter before the superseded check (see :func:`settle`).

    ``marker`` is the one stored under the letter's key, if any; ``topics`` the topics that
    exist.
    """
    origin = letter.origin
    if origin is None:
        return Outcome.UNREADABLE
    if origin.stage not in criteria.stages:
        return Outcome.OTHER_STAGE
    if criteria.reasons and origin.reason not in criteria.reasons:
        return Outcome.OTHER_REASON
    dead_at = datetime.fromtimestamp(letter.timestamp_ms / 1000, UTC)
    if not in_window(dead_at, criteria.since, criteria.until):
        return Outcome.OUTSIDE_WINDOW
    if marker is not None and marker.names(letter.partition, letter.offset, letter.timestamp_ms):
        replayed = marker.outcome == "replayed"
        return Outcome.ALREADY_REPLAYED if replayed else Outcome.SUPERSEDED
    if origin.value_cut:
        return Outcome.VALUE_CUT
    if origin.original_topic not in topics:
        return Outcome.TOPIC_MISSING
    return Outcome.REPLAY


#: (topic, partition, key) -> the highest offset of a record with that key on that partition.
LatestOffsets = Mapping[tuple[str, int, bytes | None], int]


def settle(
    candidates: Sequence[DeadLetter], latest: LatestOffsets, keyed_topics: frozenset[str]
) -> dict[tuple[int, int], Outcome]:
    """The final outcome of each candidate (``select`` gave REPLAY), by (partition, offset).

    On ``keyed_topics`` (the raw topic: each record a post's latest version) a record whose key
    came again later on its partition (an edit, a deletion, an earlier replay) is superseded:
    re-publishing it would bring back a deleted post or an edit's old text. Two dead letters of
    one original record (a worker redid a batch) replay it once.
    """
    outcomes: dict[tuple[int, int], Outcome] = {}
    seen: set[tuple[str, int, int]] = set()
    for letter in sorted(candidates, key=lambda c: (c.partition, c.offset)):
        origin = letter.origin
        assert origin is not None  # select() gave REPLAY
        topic, partition, offset = origin.place
        if topic in keyed_topics and latest.get((topic, partition, letter.key), -1) > offset:
            outcome = Outcome.SUPERSEDED
        else:
            outcome = Outcome.DUPLICATE if origin.place in seen else Outcome.REPLAY
        seen.add(origin.place)
        outcomes[(letter.partition, letter.offset)] = outcome
    return outcomes


def kind_of(letter: DeadLetter) -> tuple[str, str]:
    """(stage, reason) for the tally; an unreadable dead letter is ("?", "unreadable")."""
    return (letter.origin.stage, letter.origin.reason) if letter.origin else ("?", "unreadable")


@dataclass
class ReplaySummary:
    """What a replay found and did, by (stage, reason) and outcome."""

    dry_run: bool = False
    read: int = 0
    by_kind: defaultdict[tuple[str, str], Counter[Outcome]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    replayed_to: Counter[str] = field(default_factory=Counter)
    #: Dead letters before ``--since`` that were not read at all (the broker's time index).
    skipped_before_since: int = 0
    seconds: float = 0.0

    def add(self, letter: DeadLetter, outcome: Outcome) -> None:
        self.by_kind[kind_of(letter)][outcome] += 1

    def move(self, letter: DeadLetter, was: Outcome, now: Outcome) -> None:
        self.by_kind[kind_of(letter)][was] -= 1
        self.by_kind[kind_of(letter)][now] += 1

    def count(self, *outcomes: Outcome) -> int:
        return sum(c[o] for c in self.by_kind.values() for o in outcomes)

    @property
    def replayed(self) -> int:
        return self.count(Outcome.REPLAY)

    @property
    def cannot(self) -> int:
        return self.count(*CANNOT)

    @property
    def filtered_out(self) -> int:
        return self.count(*FILTERED) + self.skipped_before_since

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "read": self.read,
            "replayed": self.replayed,
            "already_replayed": self.count(Outcome.ALREADY_REPLAYED),
            "superseded": self.count(Outcome.SUPERSEDED),
            "duplicates": self.count(Outcome.DUPLICATE),
            "filtered_out": self.filtered_out,
            "skipped_before_since": self.skipped_before_since,
            "cannot_replay": self.cannot,
            "outcomes": {o.value: n for o in Outcome if (n := self.count(o))},
            "by_kind": {
                f"{stage}/{reason}": {o.value: n for o, n in sorted(counts.items())}
                for (stage, reason), counts in sorted(self.by_kind.items())
            },
            "replayed_to": dict(sorted(self.replayed_to.items())),
            "seconds": round(self.seconds, 3),
        }

    def lines(self) -> list[str]:
        """The summary a person reads: one line per (stage, reason), then the totals."""
        verb = "would replay" if self.dry_run else "replayed"
        rows = [
            f"  {stage}/{reason}: {sum(counts.values())} ("
            + ", ".join(f"{_label(o, verb)} {counts[o]}" for o in Outcome if counts[o])
            + ")"
            for (stage, reason), counts in sorted(self.by_kind.items())
        ]
        targets = ", ".join(f"{n} to {t}" for t, n in sorted(self.replayed_to.items()))
        return [
            f"dead letters read: {self.read}",
            *rows,
            f"{verb} {self.replayed}{' (' + targets + ')' if targets else ''}; "
            f"already replayed {self.count(Outcome.ALREADY_REPLAYED)}; "
            f"superseded by a later record {self.count(Outcome.SUPERSEDED)}; "
            f"duplicates {self.count(Outcome.DUPLICATE)}; "
            f"filtered out {self.filtered_out}; cannot replay {self.cannot}; "
            f"{self.seconds:.1f} s",
        ]


def _label(outcome: Outcome, verb: str) -> str:
    return verb if outcome is Outcome.REPLAY else outcome.value.replace("_", " ")
