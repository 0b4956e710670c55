"""What ``streams chaos`` runs and how it judges the run: the options, the fault plan, the
verdict. Pure: no I/O."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final, Literal

from streams.chaos.workload import OutputVerdict
from streams.testing.measure import guarantees_held

FaultKind = Literal["kill", "bounce", "pause", "takeover"]
#: How a broker bounce stops the broker.
BounceVariant = Literal["sigterm", "sigkill"]

MIN_WAVES: Final = 4
#: The issue's target: duplicates at most this share of the posts.
MAX_DUPLICATES_PCT: Final = 2.0


@dataclass(frozen=True)
class ChaosConfig:
    posts: int = 20_000
    #: None: posts / 10.
    corrections: int | None = None
    kills: int = 0
    broker_bounces: int = 0
    workers: int = 1
    pause: bool = False
    llm_fault_rate: float = 0.0
    seed: int = 0
    #: Seconds the drain may take after the last wave.
    timeout_s: float = 900.0
    commit_interval_s: float = 0.2
    batch_size: int = 25

    def __post_init__(self) -> None:
        if self.workers not in (1, 2):
            raise ValueError(f"workers must be 1 or 2, got {self.workers}")
        if self.posts < 1:
            raise ValueError(f"posts must be at least 1, got {self.posts}")

    @property
    def correction_count(self) -> int:
        return self.posts // 10 if self.corrections is None else self.corrections

    @property
    def correction_statuses(self) -> int:
        return max(1, self.posts // 40)

    @property
    def fault_count(self) -> int:
        return self.kills + self.broker_bounces + int(self.pause) + int(self.workers == 2)

    @property
    def waves(self) -> int:
        """One wave per fault, and two quiet ones at the end to show the pipeline recovered."""
        return min(self.posts, max(MIN_WAVES, self.fault_count + 2))


@dataclass(frozen=True)
class PlannedFault:
    kind: FaultKind
    #: Injected while this wave is being handled ...
    wave: int
    #: ... once this share of its posts is.
    fraction: float
    #: The worker slot it hits (kill, pause, takeover).
    worker: int = 0
    variant: BounceVariant | None = None


def plan_faults(config: ChaosConfig) -> list[PlannedFault]:
    """One fault per wave in a random order, each at a random moment of its wave; bounces
    alternate SIGTERM and SIGKILL, the first one SIGTERM."""
    rng = random.Random(config.seed)
    kinds: list[FaultKind] = ["kill"] * config.kills
    kinds += ["bounce"] * config.broker_bounces
    if config.pause:
        kinds.append("pause")
    if config.workers == 2:
        kinds.append("takeover")
    rng.shuffle(kinds)
    last = config.waves - 1
    planned = []
    bounces = 0
    for index, kind in enumerate(kinds):
        variant: BounceVariant | None = None
        if kind == "bounce":
            variant = "sigterm" if bounces % 2 == 0 else "sigkill"
            bounces += 1
        planned.append(
            PlannedFault(
                kind=kind,
                wave=min(index, last),
                fraction=round(rng.uniform(0.2, 0.8), 3),
                worker=rng.randrange(config.workers),
                variant=variant,
            )
        )
    return planned


def is_ok(verdict: OutputVerdict, export_wrong: int, jsonl_wrong: int, took_over: bool) -> bool:
    return (
        guarantees_held(len(verdict.lost), verdict.failure_zeroed)
        and verdict.duplicates_pct <= MAX_DUPLICATES_PCT
        and export_wrong == 0
        and jsonl_wrong == 0
        and took_over
    )
