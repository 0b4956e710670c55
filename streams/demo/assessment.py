"""How the demo's scores compare with the sample's hand labels (pure: no Kafka, no files).

A post counts as labelled toxic when its labels name any category, and as flagged when its
scored record is (the worker's flag, at the threshold the record carries). Per category, a
post is flagged when its score is at or above that threshold, as ``streams eval`` counts, and
figures come from ``streams.evaluation.metrics``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping

from pydantic import BaseModel, ConfigDict

from streams.categories import CATEGORIES
from streams.evaluation.metrics import accuracy_cell, category_figures, precision_recall_f1
from streams.evaluation.report import num, pct, table
from streams.evaluation.results import AccuracyCell, CategoryFigures
from streams.models.scored import ScoredStatus

#: Misses of each kind named in the summary line.
WORST_MISSES = 5


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Miss(_Frozen):
    status_id: str
    #: The labelled categories of a missed post, or the flagged ones of a wrongly flagged post.
    categories: tuple[str, ...]
    overall: float


class DemoAssessment(_Frozen):
    #: None when no labelled post was scored.
    threshold: float | None
    posts: int
    #: Scored posts without a label entry, and labelled posts without a scored record: both
    #: are left out of every figure.
    unlabelled: tuple[str, ...]
    unscored: tuple[str, ...]
    labelled_toxic: int
    flagged: int
    flagged_and_labelled: int
    accuracy: AccuracyCell
    precision: float | None
    recall: float | None
    f1: float | None
    #: Categories with support, in canonical order.
    categories: tuple[CategoryFigures, ...]
    #: Flags on categories no post is labelled with: each one a false positive.
    unsupported_flags: dict[str, int]
    #: Labelled posts not flagged (most labels, then lowest score, first) and flagged posts
    #: without a label (highest score first).
    false_negatives: tuple[Miss, ...]
    false_positives: tuple[Miss, ...]


def by_post(scored: Mapping[str, ScoredStatus]) -> dict[str, ScoredStatus]:
    """The records by the post they scored: a boost is keyed by its own id but is labelled,
    once, as the status it boosts; the boosted status's own record wins where there is one."""
    posts: dict[str, ScoredStatus] = {}
    for status_id, record in scored.items():
        post = record.reblog_of or status_id
        if record.reblog_of is None or post not in posts:
            posts[post] = record
    return posts


def record_threshold(scored: Collection[ScoredStatus]) -> float:
    """The one threshold the records were flagged at."""
    thresholds = {s.threshold for s in scored}
    if len(thresholds) != 1:
        raise ValueError(f"expected scored records of one threshold, got {sorted(thresholds)}")
    return thresholds.pop()


def assess(
    scored: Mapping[str, ScoredStatus], labels: Mapping[str, Collection[str]]
) -> DemoAssessment:
    """Compare the scored records (by status id) with the labels (categories by status id)."""
    ids = [sid for sid in labels if sid in scored]
    threshold = record_threshold([scored[sid] for sid in ids]) if ids else None
    truth = [bool(labels[sid]) for sid in ids]
    flags = [scored[sid].flagged for sid in ids]
    agree = [t == f for t, f in zip(truth, flags, strict=True)]
    precision, recall, f1 = precision_recall_f1([int(t) for t in truth], [int(f) for f in flags])
    figures = []
    for category in CATEGORIES:
        marks = [int(category in labels[sid]) for sid in ids]
        if any(marks) and threshold is not None:
            values = [scored[sid].scores.as_dict()[category] for sid in ids]
            figures.append(category_figures(category, marks, values, threshold))
    supported = {f.category for f in figures}
    unsupported = Counter(
        c.value for sid in ids for c in scored[sid].flagged_categories if c.value not in supported
    )
    return DemoAssessment(
        threshold=threshold,
        posts=len(ids),
        unlabelled=tuple(sorted(set(scored) - set(labels))),
        unscored=tuple(sid for sid in labels if sid not in scored),
        labelled_toxic=sum(truth),
        flagged=sum(flags),
        flagged_and_labelled=sum(t and f for t, f in zip(truth, flags, strict=True)),
        accuracy=accuracy_cell("flagged = labelled", agree),
        precision=precision,
        recall=recall,
        f1=f1,
        categories=tuple(figures),
        unsupported_flags={c: unsupported[c] for c in CATEGORIES if unsupported[c]},
        false_negatives=_false_negatives(scored, labels, ids),
        false_positives=_false_positives(scored, labels, ids),
    )


def _false_negatives(
    scored: Mapping[str, ScoredStatus], labels: Mapping[str, Collection[str]], ids: list[str]
) -> tuple[Miss, ...]:
    missed = [
        Miss(
            status_id=sid,
            categories=tuple(c for c in CATEGORIES if c in labels[sid]),
            overall=scored[sid].overall,
        )
        for sid in ids
        if labels[sid] and not scored[sid].flagged
    ]
    return tuple(sorted(missed, key=lambda m: (-len(m.categories), m.overall, m.status_id)))


def _false_positives(
    scored: Mapping[str, ScoredStatus], labels: Mapping[str, Collection[str]], ids: list[str]
) -> tuple[Miss, ...]:
    wrong = [
        Miss(
            status_id=sid,
            categories=tuple(c.value for c in scored[sid].flagged_categories),
            overall=scored[sid].overall,
        )
        for sid in ids
        if scored[sid].flagged and not labels[sid]
    ]
    return tuple(sorted(wrong, key=lambda m: (-m.overall, m.status_id)))


def _misses(title: str, misses: tuple[Miss, ...]) -> str:
    named = ", ".join(
        f"{m.status_id} ({' '.join(m.categories)}; {m.overall:.2f})" for m in misses[:WORST_MISSES]
    )
    more = f", and {len(misses) - WORST_MISSES} more" if len(misses) > WORST_MISSES else ""
    return f"  {title} {len(misses)}" + (f": {named}{more}" if misses else "")


def assessment_lines(result: DemoAssessment, source: str) -> list[str]:
    """The evaluation as the demo prints it; ``source`` names the labels."""
    a = result.accuracy
    out = [
        f"evaluation against {source}: {result.posts} posts, threshold {num(result.threshold)}",
        f"posts labelled toxic: {result.labelled_toxic}, flagged: {result.flagged}, both: "
        f"{result.flagged_and_labelled}; flagged vs labelled: accuracy {pct(a.accuracy)} "
        f"({a.correct}/{a.cases}), precision {num(result.precision)}, recall "
        f"{num(result.recall)}, F1 {num(result.f1)}",
    ]
    rows = [
        [f.category, str(f.support), str(f.flagged), str(f.true_positives), num(f.precision),
         num(f.recall), num(f.f1)]
        for f in result.categories
    ]  # fmt: skip
    header = ["category", "support", "flagged", "correct", "precision", "recall", "F1"]
    out += table(header, rows).splitlines()
    if result.unsupported_flags:
        flags = ", ".join(f"{c} {n}" for c, n in result.unsupported_flags.items())
        out.append(f"flagged in categories no post is labelled with: {flags}")
    out.append("worst misses (status id, categories, overall score):")
    out.append(_misses("labelled but not flagged:", result.false_negatives))
    out.append(_misses("flagged but labelled benign:", result.false_positives))
    if result.unlabelled or result.unscored:
        out.append(
            f"left out: {len(result.unlabelled)} scored posts without labels, "
            f"{len(result.unscored)} labelled posts not scored"
        )
    return out
