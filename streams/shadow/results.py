"""The shadow report as data: what ``streams shadow --json`` prints, and what its tables show.

Undefined figures (precision with nothing flagged, an agreement over no post) are None, never 0.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from streams.evaluation.results import CategoryFigures

#: The row that treats a post as flagged when any category is (and labelled when any label is).
ANY_CATEGORY = "any"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CandidateIdentity(_Frozen):
    config: str = Field(description="The --candidate spec, NAME[,FIELD=VALUE...].")
    backend: str
    model: str
    prompt_version: str
    threshold: float
    calibration: str | None = Field(description="Version of the calibration map applied.")


class LiveIdentity(_Frozen):
    """Who scored the compared posts live: the most common configuration, and all of them."""

    backend: str | None
    model: str | None
    prompt_version: str | None
    threshold: float | None
    configurations: dict[str, int] = Field(
        description="'backend model prompt threshold' -> posts; more than one after a change."
    )


class PartitionRange(_Frozen):
    partition: int
    start: int = Field(description="First offset replayed.")
    end: int = Field(description="End offset when the run started (exclusive).")


class ReplayFigures(_Frozen):
    raw_topic: str
    shadow_topic: str
    start: str = Field(description="the beginning, offset N or since TIME.")
    partitions: list[PartitionRange]
    records: int = Field(description="Raw records read.")
    scored: int = Field(description="Scored records published to the shadow topic.")
    deleted: int = Field(description="Deletions (tombstones published to the shadow topic).")
    dead_lettered: int = Field(
        description="Records the candidate did not score; published nowhere."
    )
    dead_letter_reasons: dict[str, int]
    llm_calls: int = Field(description="Calls to the candidate's backend, retries included.")
    seconds: float


class CategoryAgreement(_Frozen):
    """One category over the posts both sides scored."""

    category: str
    posts: int
    live_flagged: int
    candidate_flagged: int
    both_flagged: int
    flag_agreement: float | None = Field(description="Share of posts flagged alike.")
    mean_abs_diff: float | None = Field(description="Mean |candidate - live| score.")


class FlipFigures(_Frozen):
    to_flagged: int = Field(description="Posts live did not flag and the candidate does.")
    to_unflagged: int = Field(description="Posts live flagged and the candidate does not.")
    to_flagged_ids: list[str]
    to_unflagged_ids: list[str]


class LabelledComparison(_Frozen):
    """Precision and recall against the training examples, live and candidate side by side."""

    examples_on_topic: int = Field(description="Current training examples on the topic.")
    examples: int = Field(description="Of those, posts both sides scored in this run.")
    live: list[CategoryFigures]
    candidate: list[CategoryFigures]


class UsageSide(_Frozen):
    """Tokens and cost the scored records carry, over the compared posts."""

    posts: int
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    cost_usd: float
    input_tokens_per_1000: float | None
    output_tokens_per_1000: float | None
    cost_usd_per_1000: float | None


class ComparisonFigures(_Frozen):
    posts: int = Field(description="Posts scored by both the candidate and live.")
    candidate_only: int = Field(description="Posts the candidate scored that have no live score.")
    agreement: list[CategoryAgreement]
    flips: FlipFigures
    labelled: LabelledComparison
    live_usage: UsageSide
    candidate_usage: UsageSide


class ShadowReport(_Frozen):
    schema_version: Literal[1] = 1
    live_topic: str
    training_topic: str
    live: LiveIdentity
    candidate: CandidateIdentity
    replay: ReplayFigures
    comparison: ComparisonFigures
    notes: list[str] = Field(default_factory=list)
