"""Labelled cases, whatever file they came from, and what reading a file skipped.

A case labels only the categories its source knows (see ``streams.evaluation.mapping``): the
harvester's training examples label all twelve, a HateCheck case a few.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from streams.errors import StreamsError
from streams.evaluation.mapping import HATE_CATEGORY

FileKind = Literal["suite", "examples"]

#: Skipped rows listed one by one in a summary; the rest are only counted.
LISTED_SKIPS = 20


class EvaluationInputError(StreamsError):
    """A file cannot be evaluated at all (missing, unreadable, wrong columns); names the file."""


@dataclass(frozen=True)
class LabelledCase:
    """One text to score and its gold labels."""

    #: Unique within a run: ``<file name>:<line>``.
    case_id: str
    text: str
    #: Category -> 0/1, only for the categories the source labels.
    labels: Mapping[str, int]
    language: str | None = None
    functionality: str | None = None
    target: str | None = None
    #: Which file it came from (the path as given).
    source: str = ""

    @property
    def hateful(self) -> bool | None:
        """The gold label of the hate flag (None when the source does not label it)."""
        value = self.labels.get(HATE_CATEGORY.value)
        return None if value is None else bool(value)


@dataclass(frozen=True)
class SkippedRow:
    line: int
    reason: str


@dataclass
class FileSummary:
    """What reading one file gave: cases, and every row it could not use (never silent)."""

    path: str
    kind: FileKind
    rows: int = 0
    cases: int = 0
    skipped: int = 0
    skipped_rows: list[SkippedRow] = field(default_factory=list)
    #: Hateful cases whose target maps to no category, by target (``hate_speech`` only).
    unmapped_targets: Counter[str] = field(default_factory=Counter)

    def skip(self, line: int, reason: str) -> None:
        self.skipped += 1
        if len(self.skipped_rows) < LISTED_SKIPS:
            self.skipped_rows.append(SkippedRow(line, reason))


@dataclass(frozen=True)
class CaseFile:
    cases: list[LabelledCase]
    summary: FileSummary


def file_kind(path: Path) -> FileKind:
    """``suite`` for CSV, ``examples`` for JSON Lines; anything else is an error."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "suite"
    if suffix in {".jsonl", ".ndjson", ".json"}:
        return "examples"
    raise EvaluationInputError(
        f"{path}: cannot tell its format from the extension; expected .csv (a HateCheck-style "
        "suite) or .jsonl (training examples)"
    )


def spread_sample(cases: list[LabelledCase], limit: int | None) -> list[LabelledCase]:
    """At most ``limit`` cases spread evenly over the file (every k-th), keeping its order.

    Suites are sorted by functionality, so the first N cases would test one functionality only.
    """
    if limit is None or len(cases) <= limit:
        return cases
    if limit <= 0:
        return []
    return [cases[i * len(cases) // limit] for i in range(limit)]
