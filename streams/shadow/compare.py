"""The comparison of a candidate's scores with the live ones and with the training examples.

Pure: the command hands in the scored records of both sides (the latest per post) and the
current examples' labels, and gets the figures back. Each side's flags are the categories its
records flagged, so a side whose threshold changed over time is judged by what it did.
Only posts both sides scored are compared; a deleted post (tombstone) counts on neither.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from streams.categories import CATEGORIES
from streams.evaluation.metrics import (
    average_precision,
    expected_calibration_error,
    precision_recall_f1,
)
from streams.evaluation.results import CategoryFigures
from streams.models.corrections import TrainingExample
from streams.models.scored import ScoredStatus
from streams.shadow.results import (
    ANY_CATEGORY,
    CategoryAgreement,
    ComparisonFigures,
    FlipFigures,
    LabelledComparison,
    LiveIdentity,
    UsageSide,
)

Labels = Mapping[str, int]


@dataclass(frozen=True)
class PostScores:
    """What the comparison needs of one scored record (a few hundred bytes, not the record)."""

    scores: tuple[float, ...]  # canonical category order
    flagged: frozenset[str]
    configuration: tuple[str, str, str, float]  # backend, model, prompt version, threshold
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    @classmethod
    def of(cls, record: ScoredStatus) -> PostScores:
        return cls(
            scores=tuple(record.scores.as_dict().values()),
            flagged=frozenset(str(c) for c in record.flagged_categories),
            configuration=(record.backend, record.model, record.prompt_version, record.threshold),
            input_tokens=record.usage.input_tokens,
            cached_input_tokens=record.usage.cached_input_tokens,
            output_tokens=record.usage.output_tokens,
            cost_usd=record.usage.cost_usd,
        )

    def score(self, category: str) -> float:
        return self.overall if category == ANY_CATEGORY else self.scores[_INDEX[category]]

    def flags(self, category: str) -> bool:
        return bool(self.flagged) if category == ANY_CATEGORY else category in self.flagged

    @property
    def overall(self) -> float:
        return max(self.scores)


_INDEX = {name: i for i, name in enumerate(CATEGORIES)}
#: Every row of the per-category tables: the twelve categories, then any of them.
ROWS = (*CATEGORIES, ANY_CATEGORY)


@dataclass
class ReadCounts:
    """What reading one topic's latest records gave besides the records."""

    deleted: int = 0
    unreadable: int = 0


def scored_posts(latest: Mapping[str, bytes | None]) -> tuple[dict[str, PostScores], ReadCounts]:
    """The latest scored record per post, where it is one (tombstones and bad bytes counted)."""
    posts: dict[str, PostScores] = {}
    counts = ReadCounts()
    for status_id, value in latest.items():
        if value is None:
            counts.deleted += 1
            continue
        try:
            posts[status_id] = PostScores.of(ScoredStatus.model_validate_json(value))
        except ValidationError:
            counts.unreadable += 1
    return posts, counts


def example_labels(latest: Mapping[str, bytes | None]) -> tuple[dict[str, Labels], ReadCounts]:
    """Labels per post of the current training examples (erased posts counted as deleted)."""
    labels: dict[str, Labels] = {}
    counts = ReadCounts()
    for status_id, value in latest.items():
        if value is None:
            counts.deleted += 1
            continue
        try:
            example = TrainingExample.model_validate_json(value)
        except ValidationError:
            counts.unreadable += 1
            continue
        labels[status_id] = {str(c): v for c, v in example.labels.items()}
    return labels, counts


def label(labels: Labels, category: str) -> int:
    return int(any(labels.values())) if category == ANY_CATEGORY else labels.get(category, 0)


def _ratio(part: float, whole: int) -> float | None:
    return part / whole if whole else None


def agreement(
    live: Mapping[str, PostScores], candidate: Mapping[str, PostScores], ids: Sequence[str]
) -> list[CategoryAgreement]:
    """Per category (and any): how often both sides flag alike, and how far their scores are."""
    rows = []
    for category in ROWS:
        live_flags = [live[i].flags(category) for i in ids]
        cand_flags = [candidate[i].flags(category) for i in ids]
        alike = sum(a == b for a, b in zip(live_flags, cand_flags, strict=True))
        diff = sum(abs(candidate[i].score(category) - live[i].score(category)) for i in ids)
        rows.append(
            CategoryAgreement(
                category=category,
                posts=len(ids),
                live_flagged=sum(live_flags),
                candidate_flagged=sum(cand_flags),
                both_flagged=sum(a and b for a, b in zip(live_flags, cand_flags, strict=True)),
                flag_agreement=_ratio(alike, len(ids)),
                mean_abs_diff=_ratio(diff, len(ids)),
            )
        )
    return rows


def natural_order(status_id: str) -> tuple[int, str]:
    """Mastodon's numeric ids in numeric order (shorter first), any id sorted deterministically."""
    return len(status_id), status_id


def flips(
    live: Mapping[str, PostScores],
    candidate: Mapping[str, PostScores],
    ids: Sequence[str],
    samples: int,
) -> FlipFigures:
    """Posts flagged by one side only (on any category), with the first few ids each way."""
    up = [i for i in ids if candidate[i].flagged and not live[i].flagged]
    down = [i for i in ids if live[i].flagged and not candidate[i].flagged]
    return FlipFigures(
        to_flagged=len(up),
        to_unflagged=len(down),
        to_flagged_ids=sorted(up, key=natural_order)[:samples],
        to_unflagged_ids=sorted(down, key=natural_order)[:samples],
    )


def labelled_figures(
    category: str, labels: Sequence[int], flags: Sequence[bool], scores: Sequence[float]
) -> CategoryFigures:
    """``streams eval``'s figures for one category, from flags a side really raised."""
    flag_ints = [int(f) for f in flags]
    precision, recall, f1 = precision_recall_f1(labels, flag_ints)
    return CategoryFigures(
        category=category,
        cases=len(labels),
        support=sum(labels),
        flagged=sum(flag_ints),
        true_positives=sum(f and y for f, y in zip(flag_ints, labels, strict=True)),
        precision=precision,
        recall=recall,
        f1=f1,
        average_precision=average_precision(labels, scores),
        ece=expected_calibration_error(labels, scores),
    )


def against_examples(
    side: Mapping[str, PostScores], labels: Mapping[str, Labels], ids: Sequence[str]
) -> list[CategoryFigures]:
    """One side's precision, recall, F1, PR-AUC and ECE per category (and any) on ``ids``."""
    if not ids:
        return []
    return [
        labelled_figures(
            category,
            [label(labels[i], category) for i in ids],
            [side[i].flags(category) for i in ids],
            [side[i].score(category) for i in ids],
        )
        for category in ROWS
    ]


def usage(posts: Iterable[PostScores]) -> UsageSide:
    chosen = list(posts)
    count = len(chosen)

    def total(pick: Callable[[PostScores], float]) -> float:
        return sum(pick(p) for p in chosen)

    def per_1000(value: float) -> float | None:
        return value * 1000 / count if count else None

    cost = total(lambda p: p.cost_usd)
    input_tokens = int(total(lambda p: p.input_tokens))
    output_tokens = int(total(lambda p: p.output_tokens))
    return UsageSide(
        posts=count,
        input_tokens=input_tokens,
        cached_input_tokens=int(total(lambda p: p.cached_input_tokens)),
        output_tokens=output_tokens,
        cost_usd=cost,
        input_tokens_per_1000=per_1000(input_tokens),
        output_tokens_per_1000=per_1000(output_tokens),
        cost_usd_per_1000=per_1000(cost),
    )


def live_identity(live: Mapping[str, PostScores], ids: Sequence[str]) -> LiveIdentity:
    seen = Counter(live[i].configuration for i in ids)
    if not seen:
        return LiveIdentity(
            backend=None, model=None, prompt_version=None, threshold=None, configurations={}
        )
    backend, model, prompt_version, threshold = seen.most_common(1)[0][0]
    return LiveIdentity(
        backend=backend,
        model=model,
        prompt_version=prompt_version,
        threshold=threshold,
        configurations={" ".join(map(str, c)): n for c, n in seen.most_common()},
    )


def compare(
    live: Mapping[str, PostScores],
    candidate: Mapping[str, PostScores],
    labels: Mapping[str, Labels],
    samples: int = 5,
) -> ComparisonFigures:
    """Every figure of the report over the posts both sides scored."""
    ids = sorted((i for i in candidate if i in live), key=natural_order)
    labelled = [i for i in ids if i in labels]
    return ComparisonFigures(
        posts=len(ids),
        candidate_only=len(candidate) - len(ids),
        agreement=agreement(live, candidate, ids),
        flips=flips(live, candidate, ids, samples),
        labelled=LabelledComparison(
            examples_on_topic=len(labels),
            examples=len(labelled),
            live=against_examples(live, labels, labelled),
            candidate=against_examples(candidate, labels, labelled),
        ),
        live_usage=usage(live[i] for i in ids),
        candidate_usage=usage(candidate[i] for i in ids),
    )
