"""The sections of a ``streams chaos`` report: what was injected, and what came out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from streams.chaos.workload import OutputVerdict


@dataclass
class Injected:
    """The faults injected so far, as the report lists them."""

    kills: list[dict[str, Any]] = field(default_factory=list)
    bounces: list[dict[str, Any]] = field(default_factory=list)
    pauses: list[dict[str, Any]] = field(default_factory=list)
    takeover: dict[str, Any] | None = None
    #: (monotonic time the fault began, the component back, the record to add resumed_s to)
    moments: list[tuple[float, float, dict[str, Any]]] = field(default_factory=list)


def counts_section(
    verdict: OutputVerdict, before_faults: int, inputs_resent: int, corrections: int,
    corrected_posts: int, latest: Mapping[str, bytes | None], export_mismatches: int,
    jsonl_missing: int,
) -> dict[str, Any]:  # fmt: skip
    """What came out: posts handled, lost, duplicated; the training export against the policy."""
    return {
        "posts": verdict.posts,
        "scored": verdict.scored,
        "dead_lettered": verdict.dead_lettered,
        "dead_lettered_by_reason": verdict.dead_lettered_by_reason,
        "lost": len(verdict.lost),
        "failure_zeroed": verdict.failure_zeroed,
        "duplicates": verdict.duplicates,
        "duplicates_pct": verdict.duplicates_pct,
        "duplicates_before_any_fault": before_faults,
        "inputs_resent": inputs_resent,
        "corrections": corrections,
        "corrected_posts": corrected_posts,
        "corrections_dead_lettered": verdict.corrections_dead_lettered,
        "examples": sum(1 for v in latest.values() if v is not None),
        "export_mismatches": export_mismatches,
        "jsonl_missing": jsonl_missing,
    }


def faults_section(
    injected: Injected, worker_crashes: list[dict[str, Any]], late_faults: int,
    llm_stats: Mapping[str, Any],
    reader_reconnects: int,
) -> dict[str, Any]:  # fmt: skip
    """What was done to the pipeline, each fault with the duplicates that followed it."""
    return {
        "kills_done": len(injected.kills),
        "kills": injected.kills,
        "bounces_done": len(injected.bounces),
        "bounces": injected.bounces,
        "pauses_done": len(injected.pauses),
        "pauses": injected.pauses,
        "takeover": injected.takeover,
        "worker_crashes": worker_crashes,
        "faults_injected_late": late_faults,
        "llm_requests": llm_stats.get("requests", 0),
        "llm_faults": llm_stats.get("faults", {}),
        "reader_reconnects": reader_reconnects,
    }
