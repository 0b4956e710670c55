"""The demo's bundled data: the sample of Mastodon statuses and its hand labels.

Both are package data (``streams/data/``). The labels name, per status id the demo scores, the
categories a reader found in its text; how they were made is in the file's ``about``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field

from streams.categories import Category
from streams.models.status import StatusId, StatusToScore, parse_raw_record

SAMPLE_FILE = "sample_statuses.jsonl"
LABELS_FILE = "sample_labels.json"


@dataclass(frozen=True)
class SamplePost:
    key: bytes
    value: bytes
    #: The id its scored record carries: the raw record's own (a boost's too).
    scored_id: str
    #: The id its label is under: a boost's is the boosted status's, labelled once.
    labelled_id: str


def _data_text(name: str) -> str:
    return (resources.files("streams") / "data" / name).read_text("utf-8")


def load_sample() -> list[SamplePost]:
    posts = []
    for line in _data_text(SAMPLE_FILE).splitlines():
        if not line.strip():
            continue
        value = line.encode()
        parsed = parse_raw_record(None, value)
        assert isinstance(parsed, StatusToScore), "the bundled sample holds only statuses"
        own = parsed.status_id
        posts.append(SamplePost(own.encode(), value, own, parsed.reblog_of or own))
    return posts


class SampleLabels(BaseModel):
    """The hand labels of the sample: categories per scored status id ([] for a benign post)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    about: str = Field(min_length=1, description="How the labels were made, and by whom.")
    conventions: list[str] = Field(description="The judgement calls, applied to every post.")
    labels: dict[StatusId, list[Category]]

    def categories_of(self) -> dict[str, frozenset[str]]:
        """The labels as plain category names per status id."""
        return {sid: frozenset(c.value for c in cats) for sid, cats in self.labels.items()}


def load_sample_labels() -> SampleLabels:
    return SampleLabels.model_validate_json(_data_text(LABELS_FILE))
