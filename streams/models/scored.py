"""The scored record: one per raw status record on ``statuses.scored``, keyed by its status id
(for a boost, the boost's own id: every record of one post shares its key and partition)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, Field, create_model, model_validator

from streams.categories import CATEGORIES, Category
from streams.models.base import Record
from streams.models.status import AccountId

#: A probability-like score: finite, within 0..1.
Score = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
#: The flag threshold, one rule for the settings and the record: a post is flagged in a category
#: whose score is >= threshold, so 0 would flag every post and is refused.
Threshold = Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)]


def _to_utc(value: datetime) -> datetime:
    # One instant always serialises the same way, whatever offset it came with.
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]


class CategoryScoresBase(Record):
    """Base of ``CategoryScores``: one ``Score`` field per category, nothing else."""

    def as_dict(self) -> dict[str, float]:
        """Scores by category name, in canonical order."""
        return {name: float(getattr(self, name)) for name in CATEGORIES}


# Built from CATEGORIES so that adding a category is a change to streams.categories only. mypy
# cannot see fields made at run time, so it checks uses against the base class.
if TYPE_CHECKING:
    CategoryScores = CategoryScoresBase
else:
    CategoryScores = create_model(
        "CategoryScores",
        __base__=CategoryScoresBase,
        __module__=__name__,
        __doc__="A score in 0..1 for each of the twelve categories; all are required.",
        **{name: (Score, ...) for name in CATEGORIES},
    )


class Usage(Record):
    """This status's share of the LLM call's tokens and cost."""

    input_tokens: int = Field(ge=0)
    cached_input_tokens: int = Field(0, ge=0, description="Part of input_tokens read from cache.")
    output_tokens: int = Field(ge=0)
    cost_usd: NonNegative = 0.0

    @model_validator(mode="after")
    def _cached_within_input(self) -> Usage:
        if self.cached_input_tokens > self.input_tokens:
            raise ValueError("cached_input_tokens exceeds input_tokens")
        return self


class Timings(Record):
    """Milliseconds from reading the raw record to publishing the scored one."""

    queued_ms: NonNegative = Field(description="Waiting for a batch and a rate-limit slot.")
    llm_ms: NonNegative = Field(description="The LLM call of this status's batch.")
    total_ms: NonNegative = Field(description="From consumption to the scored record.")


class SourceOffset(Record):
    """Where the raw record came from."""

    topic: str = Field(min_length=1)
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)


class ScoredStatus(Record):
    """A status's scores on the twelve categories and whether it is flagged.

    Version 2 added ``account_id`` (the author, whom a report names). Version 3 keys a boost
    by its own id and names the boosted status in ``reblog_of`` (it was keyed by the boosted
    status's id, from another partition than the raw record's); ``scores`` are calibrated,
    ``raw_scores`` are the backend's, and ``calibration_version`` names the map applied;
    ``response_format`` says how the endpoint was asked for JSON.
    """

    schema_version: Literal[3] = 3
    status_id: str = Field(
        min_length=1,
        description="Id of the raw record's status (for a boost, the boost's own id); the key.",
    )
    reblog_of: str | None = Field(
        None,
        description="For a boost: the id of the boosted status, whose text was scored.",
    )
    account_id: AccountId | None = Field(
        None,
        description="Id of the status's author (for a boost, of the boosted status's author); "
        "null when the raw record names none.",
    )
    language: str | None = None
    scores: CategoryScores = Field(
        description="Calibrated scores (the backend's own when no calibration applies); "
        "overall and flagging use these."
    )
    raw_scores: CategoryScores = Field(description="The scores the backend gave.")
    calibration_version: str | None = Field(
        None, description="Version of the calibration map applied; null: none was."
    )
    overall: Score = Field(description="The highest category score.")
    flagged: bool = Field(description="True when any category score reaches the threshold.")
    flagged_categories: tuple[Category, ...] = Field(
        description="Categories whose score is >= threshold, in canonical order."
    )
    threshold: Threshold
    backend: str = Field(min_length=1, description='Scoring backend, e.g. "openai", "lexicon".')
    model: str = Field(min_length=1)
    prompt_version: str = Field(min_length=1)
    response_format: str | None = Field(
        None,
        description="How the endpoint was asked for JSON (json_schema, json_object_schema, "
        "json_object, none); null for a backend without an endpoint.",
    )
    usage: Usage
    timings: Timings
    scored_at: UtcDatetime
    edited: bool = Field(False, description="The status had been edited when it was scored.")
    source: SourceOffset | None = None

    @model_validator(mode="before")
    @classmethod
    def _read_version_2(cls, data: Any) -> Any:
        # Compacted topics keep version 2 records for as long as their posts live: they read
        # as version 3 with the backend's scores as the raw ones (no calibration applied).
        if isinstance(data, dict) and data.get("schema_version") == 2 and "scores" in data:
            data = {**data, "schema_version": 3, "raw_scores": data["scores"]}
        return data

    @model_validator(mode="after")
    def _derived_fields_agree(self) -> ScoredStatus:
        # overall/flagged are derived; a record where they disagree with the scores is a bug.
        scores = self.scores.as_dict()
        if self.calibration_version is None and scores != self.raw_scores.as_dict():
            raise ValueError("scores must equal raw_scores when no calibration applies")
        if self.overall != max(scores.values()):
            raise ValueError("overall must equal the highest category score")
        expected = flagged_categories(scores, self.threshold)
        if self.flagged_categories != expected:
            raise ValueError(f"flagged_categories must be {[c.value for c in expected]}")
        if self.flagged != bool(expected):
            raise ValueError("flagged must be true exactly when a category is flagged")
        return self


def flagged_categories(scores: Mapping[str, float], threshold: float) -> tuple[Category, ...]:
    """Categories whose score is >= ``threshold``, in canonical order."""
    return tuple(Category(name) for name in CATEGORIES if scores[name] >= threshold)


def build_scored_status(
    status_id: str,
    language: str | None,
    scores: Mapping[str, float] | Mapping[Category, float],
    threshold: float,
    *,
    backend: str,
    model: str,
    prompt_version: str,
    usage: Usage,
    timings: Timings,
    scored_at: datetime,
    edited: bool = False,
    source: SourceOffset | None = None,
    account_id: str | None = None,
    reblog_of: str | None = None,
    raw_scores: Mapping[str, float] | Mapping[Category, float] | None = None,
    calibration_version: str | None = None,
    response_format: str | None = None,
) -> ScoredStatus:
    """A ``ScoredStatus`` with ``overall``, ``flagged`` and ``flagged_categories`` computed.

    ``scores`` are what flagging uses (calibrated when ``calibration_version`` is set);
    ``raw_scores`` default to them. Each (keyed by name or ``Category``) must hold every
    category and nothing else, each finite and within 0..1; raises
    ``pydantic.ValidationError`` otherwise.
    """
    checked = CategoryScores.model_validate({str(k): v for k, v in scores.items()}).as_dict()
    raw = (
        checked
        if raw_scores is None
        else CategoryScores.model_validate({str(k): v for k, v in raw_scores.items()}).as_dict()
    )
    categories = flagged_categories(checked, threshold)
    fields: dict[str, Any] = {
        "status_id": status_id,
        "reblog_of": reblog_of,
        "account_id": account_id,
        "language": language,
        "scores": checked,
        "raw_scores": raw,
        "calibration_version": calibration_version,
        "overall": max(checked.values()),
        "flagged": bool(categories),
        "flagged_categories": categories,
        "threshold": threshold,
        "backend": backend,
        "model": model,
        "prompt_version": prompt_version,
        "response_format": response_format,
        "usage": usage,
        "timings": timings,
        "scored_at": scored_at,
        "edited": edited,
        "source": source,
    }
    return ScoredStatus.model_validate(fields)
