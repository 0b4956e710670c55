"""The evaluation's report as data: what ``streams eval --json`` prints, and what tables and plots
are drawn from. Undefined figures (precision with nothing flagged, PR-AUC with no positive
case, accuracy of an empty group) are None, never 0.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CategoryFigures(_Frozen):
    """One category at the flag threshold, over the scored cases that label it."""

    category: str
    cases: int = Field(description="Scored cases that label this category.")
    support: int = Field(description="Of those, cases labelled 1.")
    flagged: int = Field(description="Cases scored at or above the threshold.")
    true_positives: int
    precision: float | None
    recall: float | None
    f1: float | None
    average_precision: float | None = Field(description="PR-AUC, over every threshold.")
    ece: float | None = Field(description="Expected calibration error, 10 equal-width bins.")


class AccuracyCell(_Frozen):
    name: str
    cases: int
    correct: int
    accuracy: float | None


class AccuracyFigures(_Frozen):
    """Agreement of the hate flag with the gold label (see ``streams.evaluation.mapping``)."""

    overall: AccuracyCell
    hateful: AccuracyCell
    non_hateful: AccuracyCell
    by_functionality: list[AccuracyCell]
    by_target: list[AccuracyCell]
    #: Counter-speech (``counter_*``) and negation (``negate_*``), the hard non-literal cases.
    by_group: list[AccuracyCell]


class ReliabilityBin(_Frozen):
    lower: float
    upper: float
    count: int
    mean_score: float | None
    positive_rate: float | None


class UsageFigures(_Frozen):
    calls: int
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    cost_usd: float
    input_tokens_per_1000: float | None = Field(description="Per 1,000 scored posts.")
    output_tokens_per_1000: float | None
    cost_usd_per_1000: float | None


class ConfigResult(_Frozen):
    """One scoring configuration on one file."""

    config: str
    cases: int
    scored: int
    unscored: int = Field(description="Cases the backend gave no scores; left out of figures.")
    unscored_reasons: dict[str, int]
    categories: list[CategoryFigures]
    accuracy: AccuracyFigures | None = Field(description="None when no case labels the hate flag.")
    ece: float | None = Field(description="Over every labelled (category, case) pair.")
    reliability: list[ReliabilityBin]
    usage: UsageFigures
    seconds: float


class SkippedLine(_Frozen):
    line: int
    reason: str


class FileFigures(_Frozen):
    path: str
    kind: Literal["suite", "examples"]
    rows: int
    cases: int = Field(description="Rows read into cases.")
    evaluated: int = Field(description="Cases scored in this run (after --limit).")
    skipped: int
    skipped_lines: list[SkippedLine] = Field(description="The first skipped rows.")
    unmapped_targets: dict[str, int] = Field(
        description="Hateful cases whose target maps to no category (hate_speech labelled only)."
    )


class FileResult(_Frozen):
    file: FileFigures
    results: list[ConfigResult]


class ConfigIdentity(_Frozen):
    config: str
    backend: str
    model: str
    prompt_version: str
    batch_size: int


class EvaluationReport(_Frozen):
    schema_version: Literal[1] = 1
    threshold: float
    hate_category: str = Field(description="The category whose flag accuracy measures.")
    configs: list[ConfigIdentity]
    files: list[FileResult]
