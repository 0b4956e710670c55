"""Moderators' corrections (input) and the training examples compacted from them (output)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from streams.categories import CATEGORIES, MEMBERS, Category, parse_category
from streams.models.base import Record

#: Longer texts are rejected: a post's corrections are kept together in one table record.
MAX_CORRECTION_TEXT_CHARS = 20_000
#: Bounds of the other strings: ids, languages and reasons are short in every platform we know.
MAX_ID_CHARS = 128
MAX_REASON_CHARS = 2_000
#: How far ahead of this machine's clock a correction's timestamp may be (clock skew).
MAX_CLOCK_SKEW = timedelta(minutes=5)
#: What a status id of a raw record can be (see streams.models.status): printable ASCII, no
#: whitespace or control characters. Mastodon's are digits; other platforms use more.
STATUS_ID_PATTERN = r"^[!-~]{1,128}$"

FeedbackType = Literal["false_positive", "false_negative", "other"]
Source = Literal["admin_override", "user_report", "appeal"]


def _parse_names(value: Any) -> Any:
    # Producers write "Toxic" or " hate_speech"; parse_category normalises and names the valid
    # set in its error. Anything that is not a list is left for pydantic to reject.
    if isinstance(value, list | tuple | set | frozenset):
        return [parse_category(v) if isinstance(v, str) else v for v in value]
    return value


def _canonical(value: list[Category]) -> list[Category]:
    # One order and no duplicates, so equal sets compare and serialise equal.
    present = set(value)
    return [c for c in MEMBERS if c in present]


CategoryList = Annotated[list[Category], BeforeValidator(_parse_names), AfterValidator(_canonical)]


def _require_tz(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            "time zone missing: send an ISO 8601 time with an offset, "
            "e.g. 2026-03-01T12:00:00Z or 2026-03-01T14:00:00+02:00"
        )
    # Stored in UTC so one instant always serialises the same way, whatever offset it came with.
    return value.astimezone(UTC)


AwareDatetime = Annotated[datetime, AfterValidator(_require_tz)]


def _not_in_future(value: datetime) -> datetime:
    # A year-9999 timestamp would win "latest" over every real correction forever.
    if value > datetime.now(UTC) + MAX_CLOCK_SKEW:
        raise ValueError(
            f"timestamp {value.isoformat()} is in the future; send the time the correction was "
            "made (a few minutes of clock skew are allowed)"
        )
    return value


PastDatetime = Annotated[AwareDatetime, AfterValidator(_not_in_future)]


def _blank_to_none(value: Any) -> Any:
    # An empty text or language says as much as a missing one; treat both as unknown.
    if isinstance(value, str) and not value.strip():
        return None
    return value


OptionalText = Annotated[str | None, BeforeValidator(_blank_to_none)]


class Correction(Record):
    """A moderator's or a user's correction of one post's scores (``moderation.corrections``)."""

    # An input contract: producers may add fields before we know them, and a correction is too
    # valuable to dead-letter for that, so unknown fields are ignored rather than an error.
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    schema_version: Literal[1] = 1
    correction_id: str = Field(
        min_length=1, max_length=MAX_ID_CHARS, description="Unique id; a redelivery repeats it."
    )
    status_id: str = Field(
        pattern=STATUS_ID_PATTERN, description="Id of the corrected post (the record key)."
    )
    text: OptionalText = Field(
        None,
        max_length=MAX_CORRECTION_TEXT_CHARS,
        description="Plain text of the post, if the producer has it.",
    )
    language: OptionalText = Field(None, max_length=35)  # BCP 47's longest practical tag
    feedback_type: FeedbackType
    expected_categories: CategoryList = Field(
        default_factory=list, description="Categories the post belongs to, per the corrector."
    )
    actual_categories: CategoryList = Field(
        default_factory=list, description="Categories the model had flagged."
    )
    source: Source
    actor_id: str | None = Field(
        None, max_length=MAX_ID_CHARS, description="Id of the moderator or reporter."
    )
    reason: str | None = Field(None, max_length=MAX_REASON_CHARS)
    timestamp: PastDatetime = Field(
        description="When the correction was made; needs a zone, and is not in the future."
    )


class ProvenanceEntry(BaseModel):
    """One correction that went into a training example."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    correction_id: str
    source: Source
    timestamp: AwareDatetime
    feedback_type: FeedbackType
    # Kept per correction so contested examples can be adjudicated later without the topic.
    expected_categories: CategoryList = Field(default_factory=list)

    @classmethod
    def of(cls, correction: Correction) -> ProvenanceEntry:
        return cls(
            correction_id=correction.correction_id,
            source=correction.source,
            timestamp=correction.timestamp,
            feedback_type=correction.feedback_type,
            expected_categories=correction.expected_categories,
        )


def _require_all_categories(value: dict[Category, int]) -> dict[Category, int]:
    missing = [c for c in CATEGORIES if c not in value]
    if missing:
        raise ValueError(f"labels lack categories: {', '.join(missing)}")
    return {c: value[c] for c in MEMBERS}


Labels = Annotated[dict[Category, Literal[0, 1]], AfterValidator(_require_all_categories)]


def label_vector(expected: Iterable[str]) -> dict[Category, Literal[0, 1]]:
    """1 for each category in ``expected``, 0 for every other one, in canonical order."""
    present = set(expected)
    return {c: 1 if c in present else 0 for c in MEMBERS}


class TrainingExample(Record):
    """One post's text and its corrected labels (topic ``training.examples`` and JSONL files)."""

    schema_version: Literal[1] = 1
    status_id: str = Field(min_length=1)
    text: str = Field(min_length=1)
    language: str | None = None
    labels: Labels = Field(
        description="0/1 for every category.",
        json_schema_extra={"required": list(CATEGORIES)},
    )
    source: Literal["platform_feedback"] = "platform_feedback"
    feedback_type: FeedbackType = Field(description="Feedback type of the deciding correction.")
    original_prediction: CategoryList = Field(
        description="What the model had flagged, per the deciding correction."
    )
    corrected_to: CategoryList = Field(description="Expected categories of the deciding one.")
    contested: bool = Field(
        description="True when user reports decided and they disagree on the categories."
    )
    decided_by: Source = Field(description="Source level of the deciding correction.")
    deciding_correction_id: str
    provenance: list[ProvenanceEntry] = Field(
        min_length=1, description="Every correction considered, oldest first."
    )
    scored_model: str | None = Field(None, description="Model of the scored record, if known.")
    scored_prompt_version: str | None = None
    updated_at: AwareDatetime = Field(
        description="Latest timestamp among the corrections: orders versions of one example "
        "independently of when it was harvested."
    )
    harvested_at: AwareDatetime
