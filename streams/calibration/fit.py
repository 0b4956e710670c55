"""Fits a calibration map from (score, label) pairs, and checks it on held-out pairs (pure).

Per category, from every language's pairs: isotonic regression when there are at least
``min_isotonic`` pairs, Platt scaling (a logistic fit on the score) from ``min_platt``, and no
calibration below that or when either class has fewer than ``min_per_class`` pairs; each refusal
is said in the result. Per language, an isotonic entry of its own where that language alone has
``min_isotonic`` pairs (and both classes); otherwise its posts use the all-language entry.

Corrections cover posts someone flagged or reported, a biased sample of all posts: the result
says how many pairs and positives each entry used, so a reader can judge.

The held-out check splits by example (all categories of one post on the same side, by a hash
of its key, so a rerun splits alike), fits on the rest, and gives each category's expected
calibration error before and after on the held-out pairs. The map returned is that fit.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from streams.calibration.map import CalibrationMap, CategoryCalibration, language_key
from streams.evaluation.cases import LabelledCase
from streams.evaluation.metrics import expected_calibration_error


@dataclass(frozen=True)
class LabelledScore:
    """One category of one example: the raw score the model gave and the label."""

    key: str
    category: str
    language: str | None
    score: float
    label: int


class CalibrationOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min_isotonic: int = Field(200, ge=2, description="Pairs for an isotonic fit.")
    min_platt: int = Field(30, ge=2, description="Pairs for a Platt fit; fewer: refused.")
    min_per_class: int = Field(5, ge=1, description="Pairs labelled 1, and 0, needed for any fit.")
    holdout: float = Field(0.3, gt=0, lt=1, description="Share of examples held out.")


class FitOutcome(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    category: str
    language: str | None
    method: Literal["isotonic", "platt", "refused"]
    examples: int
    positives: int
    reason: str


class HoldoutCheck(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    category: str
    examples: int
    positives: int
    ece_before: float | None
    ece_after: float | None


class CalibrationFit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    map: CalibrationMap
    outcomes: list[FitOutcome]
    holdout: list[HoldoutCheck]
    train_examples: int
    holdout_examples: int


def pairs_from_cases(
    scored: Iterable[tuple[LabelledCase, Mapping[str, float]]],
) -> list[LabelledScore]:
    """A pair per labelled category of every scored case."""
    return [
        LabelledScore(case.case_id, category, case.language, scores.get(category, 0.0), label)
        for case, scores in scored
        for category, label in case.labels.items()
    ]


def _method(
    pairs: Sequence[LabelledScore], options: CalibrationOptions, isotonic_only: bool
) -> tuple[Literal["isotonic", "platt", "refused"], str]:
    n, positives = len(pairs), sum(p.label for p in pairs)
    smaller = min(positives, n - positives)
    if smaller < options.min_per_class:
        return (
            "refused",
            f"{smaller} pairs in the smaller class, fewer than {options.min_per_class}",
        )
    if n >= options.min_isotonic:
        return "isotonic", f"{n} pairs, at least {options.min_isotonic}"
    if isotonic_only:
        return "refused", f"{n} pairs, fewer than {options.min_isotonic} for a language's own fit"
    if n >= options.min_platt:
        return "platt", f"{n} pairs, fewer than {options.min_isotonic} for isotonic"
    return "refused", f"{n} pairs, fewer than {options.min_platt}"


def fit_entry(
    category: str, language: str | None, pairs: Sequence[LabelledScore], method: str
) -> CategoryCalibration:
    """An isotonic or Platt entry fitted on ``pairs`` (scikit-learn, imported here)."""
    scores = [p.score for p in pairs]
    labels = [p.label for p in pairs]
    common = {"category": category, "language": language, "examples": len(pairs),
              "positives": sum(labels)}  # fmt: skip
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression  # type: ignore[import-untyped]

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
        iso.fit(scores, labels)
        return CategoryCalibration(
            method="isotonic",
            x=[float(v) for v in iso.X_thresholds_],
            y=[min(1.0, max(0.0, float(v))) for v in iso.y_thresholds_],
            **common,
        )
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    # Weak regularisation: Platt's fit is a plain logistic regression on the score.
    logistic = LogisticRegression(C=1e4).fit([[s] for s in scores], labels)
    return CategoryCalibration(
        method="platt", a=float(logistic.coef_[0][0]), b=float(logistic.intercept_[0]), **common
    )


def _outcome(
    category: str, language: str | None, pairs: Sequence[LabelledScore], method: str, reason: str
) -> FitOutcome:
    return FitOutcome(
        category=category, language=language, method=method,  # type: ignore[arg-type]
        examples=len(pairs), positives=sum(p.label for p in pairs), reason=reason,
    )  # fmt: skip


def fit_map(
    pairs: Sequence[LabelledScore],
    options: CalibrationOptions | None = None,
    *,
    version: str | None = None,
    source: str | None = None,
) -> tuple[CalibrationMap, list[FitOutcome]]:
    """Fit every category (and language) the pairs allow; say for each what was done."""
    options = options or CalibrationOptions()
    by_category: dict[str, list[LabelledScore]] = defaultdict(list)
    for pair in pairs:
        by_category[pair.category].append(pair)
    entries: list[CategoryCalibration] = []
    outcomes: list[FitOutcome] = []
    for category in sorted(by_category):
        groups: list[tuple[str | None, list[LabelledScore]]] = [(None, by_category[category])]
        by_language: dict[str, list[LabelledScore]] = defaultdict(list)
        for pair in by_category[category]:
            key = language_key(pair.language)
            if key is not None:
                by_language[key].append(pair)
        if len(by_language) > 1:  # with one language, its own entry would repeat the global one
            groups += sorted(by_language.items())
        for language, group in groups:
            method, reason = _method(group, options, isotonic_only=language is not None)
            outcomes.append(_outcome(category, language, group, method, reason))
            if method != "refused":
                entries.append(fit_entry(category, language, group, method))
    return CalibrationMap(version=version or _content_version(entries), source=source,
                          entries=entries), outcomes  # fmt: skip


def _content_version(entries: Sequence[CategoryCalibration]) -> str:
    """The same fit gets the same version; any change of a knot a new one."""
    body = json.dumps([e.model_dump(mode="json") for e in entries], sort_keys=True)
    return "cal-" + hashlib.sha256(body.encode()).hexdigest()[:12]


def held_out(key: str, fraction: float) -> bool:
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def holdout_checks(
    calibration: CalibrationMap, pairs: Sequence[LabelledScore]
) -> list[HoldoutCheck]:
    by_category: dict[str, list[LabelledScore]] = defaultdict(list)
    for pair in pairs:
        by_category[pair.category].append(pair)
    checks: list[HoldoutCheck] = []
    for category in sorted(by_category):
        group = by_category[category]
        labels = [p.label for p in group]
        after = [calibration.apply(category, p.language, p.score) for p in group]
        checks.append(
            HoldoutCheck(
                category=category,
                examples=len(group),
                positives=sum(labels),
                ece_before=expected_calibration_error(labels, [p.score for p in group]),
                ece_after=expected_calibration_error(labels, after),
            )
        )
    return checks


def calibrate(
    pairs: Sequence[LabelledScore],
    options: CalibrationOptions | None = None,
    *,
    version: str | None = None,
    source: str | None = None,
) -> CalibrationFit:
    """Fit on the examples not held out; check on the held-out ones."""
    options = options or CalibrationOptions()
    train = [p for p in pairs if not held_out(p.key, options.holdout)]
    test = [p for p in pairs if held_out(p.key, options.holdout)]
    calibration, outcomes = fit_map(train, options, version=version, source=source)
    return CalibrationFit(
        map=calibration,
        outcomes=outcomes,
        holdout=holdout_checks(calibration, test),
        train_examples=len({p.key for p in train}),
        holdout_examples=len({p.key for p in test}),
    )
