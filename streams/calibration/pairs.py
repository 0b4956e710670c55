"""(score, label) pairs for a fit: training examples joined with the live scores of their posts.

Pure. The scores are the ``raw_scores`` of the latest scored record of each example's post, and
only of the scoring configuration being calibrated: a map fitted on one backend's scores says
nothing about another's. What could not be joined is counted, never dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pydantic import ValidationError

from streams.calibration.fit import LabelledScore
from streams.calibration.map import source_key
from streams.models.corrections import TrainingExample
from streams.models.scored import ScoredStatus


@dataclass
class JoinCounts:
    """How the examples met the scores."""

    examples: int = 0
    joined: int = 0
    #: Examples whose post has no scored record (never scored, or deleted since).
    unscored: int = 0
    #: Examples whose post was last scored by another configuration, by its key.
    other_source: dict[str, int] = field(default_factory=dict)
    unreadable_examples: int = 0
    unreadable_scores: int = 0


def record_source(record: ScoredStatus) -> str:
    return source_key(record.backend, record.model, record.prompt_version)


def read_examples(values: Iterable[bytes | None], counts: JoinCounts) -> list[TrainingExample]:
    """The valid training examples among ``values`` (tombstones skipped, bad ones counted)."""
    examples = []
    for value in values:
        if value is None:
            continue
        try:
            examples.append(TrainingExample.model_validate_json(value))
        except ValidationError:
            counts.unreadable_examples += 1
    counts.examples = len(examples)
    return examples


def join_pairs(
    examples: Iterable[TrainingExample],
    scored: Mapping[str, bytes | None],
    source: str,
    counts: JoinCounts,
) -> list[LabelledScore]:
    """A pair per category of every example whose post ``source`` scored last."""
    pairs: list[LabelledScore] = []
    for example in examples:
        value = scored.get(example.status_id)
        if value is None:
            counts.unscored += 1
            continue
        try:
            record = ScoredStatus.model_validate_json(value)
        except ValidationError:
            counts.unreadable_scores += 1
            continue
        if (other := record_source(record)) != source:
            counts.other_source[other] = counts.other_source.get(other, 0) + 1
            continue
        counts.joined += 1
        raw = record.raw_scores.as_dict()
        language = example.language or record.language
        pairs += [
            LabelledScore(example.status_id, str(category), language, raw[str(category)], label)
            for category, label in example.labels.items()
        ]
    return pairs
