"""The contract of the replay-marker topic (``<dlq>.replayed``): one record per dead letter that
``streams dlq replay`` re-published (or found superseded), keyed ``<dlq partition>:<dlq offset>``.

The topic is compacted, so a marker stays as long as the topic's retention (the dead-letter
topic's, taken when the marker topic is created): as long as its dead letter can be read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, Field

from streams.models.base import Record


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def marker_key(dlq_partition: int, dlq_offset: int) -> bytes:
    """The marker's record key: where its dead letter sits on the dead-letter topic."""
    return f"{dlq_partition}:{dlq_offset}".encode()


class ReplayMarker(Record):
    """A dead letter that was re-published to its original topic, and where it went."""

    schema_version: Literal[1] = 1
    dlq_topic: str = Field(min_length=1)
    dlq_partition: int = Field(ge=0)
    dlq_offset: int = Field(ge=0)
    dlq_timestamp_ms: int = Field(
        description="The dead letter's record timestamp: a marker names its dead letter only "
        "when it matches, so a dead-letter topic deleted and created again (offsets from 0 "
        "again) is not taken as replayed."
    )
    original_topic: str = Field(min_length=1)
    original_partition: int = Field(ge=0)
    original_offset: int = Field(ge=0)
    stage: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    outcome: Literal["replayed", "superseded"] = Field(
        description="replayed: re-published; superseded: not re-published because a later "
        "record of its key (an edit, a deletion, an earlier replay) was already on its topic."
    )
    replayed_to_partition: int | None = Field(None, ge=0)
    replayed_to_offset: int | None = Field(None, ge=0)
    replayed_at: Annotated[AwareDatetime, AfterValidator(_to_utc)]

    def names(self, dlq_partition: int, dlq_offset: int, dlq_timestamp_ms: int) -> bool:
        """True when this marker is about the dead letter at that place and time."""
        place = (self.dlq_partition, self.dlq_offset, self.dlq_timestamp_ms)
        return place == (dlq_partition, dlq_offset, dlq_timestamp_ms)
