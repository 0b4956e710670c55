"""Calibration: applying a map by hand, fitting one that lowers the error on held-out examples."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
from collections.abc import Mapping, Sequence

import pytest
from pydantic import ValidationError

from streams.calibration.fit import (
    CalibrationOptions,
    LabelledScore,
    calibrate,
    fit_map,
    pairs_from_cases,
)
from streams.calibration.map import CalibrationMap, CategoryCalibration
from streams.categories import CATEGORIES
from streams.evaluation.cases import LabelledCase
from streams.evaluation.scorecard import scored_cases
from streams.evaluation.scoring import ScoringConfig, score_all
from streams.llm.prompt import PostToScore
from streams.llm.reply import ItemResult, ScoredItem
from streams.scoring.backend import BatchScores, ScoringBackend
from streams.settings import Settings


def _map(*entries: CategoryCalibration) -> CalibrationMap:
    return CalibrationMap(version="test-1", entries=list(entries))


def test_isotonic_entry_interpolates_between_knots_and_is_flat_beyond() -> None:
    entry = CategoryCalibration(category="insult", method="isotonic", examples=10, positives=5,
                                x=[0.2, 0.6, 0.6, 1.0], y=[0.0, 0.4, 0.5, 0.9])  # fmt: skip
    calibration = _map(entry)
    assert calibration.apply("insult", None, 0.0) == 0.0
    assert calibration.apply("insult", None, 0.4) == pytest.approx(0.2)
    assert calibration.apply("insult", None, 0.6) == pytest.approx(0.5)
    assert calibration.apply("insult", None, 0.8) == pytest.approx(0.7)
    assert calibration.apply("insult", None, 1.0) == pytest.approx(0.9)
    # A category without an entry is not calibrated.
    assert calibration.apply("toxic", "nl", 0.37) == 0.37


def test_platt_entry_and_language_fallback() -> None:
    everyone = CategoryCalibration(category="toxic", method="platt", examples=50, positives=10,
                                   a=0.0, b=0.0)  # fmt: skip
    dutch = CategoryCalibration(category="toxic", language="nl", method="isotonic",
                                examples=300, positives=90, x=[0.0, 1.0], y=[0.1, 0.2])  # fmt: skip
    calibration = _map(everyone, dutch)
    assert calibration.apply("toxic", "en", 0.9) == pytest.approx(0.5)  # sigmoid(0)
    assert calibration.apply("toxic", None, 0.9) == pytest.approx(0.5)
    assert calibration.apply("toxic", "nl-BE", 0.5) == pytest.approx(0.15)
    assert calibration.apply("toxic", "NL", 1.0) == pytest.approx(0.2)
    steep = CategoryCalibration(category="x", method="platt", examples=1, positives=1,
                                a=-1e4, b=0.0)  # fmt: skip
    assert steep(1.0) == pytest.approx(0.0) and steep(-1.0) == pytest.approx(1.0)  # no overflow


def test_map_is_a_versioned_json_record() -> None:
    entry = CategoryCalibration(category="insult", method="isotonic", examples=3, positives=1,
                                x=[0.1, 0.9], y=[0.0, 0.8])  # fmt: skip
    calibration = _map(entry)
    again = CalibrationMap.model_validate_json(calibration.to_bytes())
    assert again == calibration and again.schema_version == 1
    assert again.apply("insult", None, 0.5) == pytest.approx(0.4)
    with pytest.raises(ValidationError, match="non-decreasing"):
        CategoryCalibration(category="insult", method="isotonic", examples=2, positives=1,
                            x=[0.9, 0.1], y=[0.0, 0.8])  # fmt: skip
    with pytest.raises(ValidationError, match="same category and language"):
        _map(entry, entry)


def test_applying_a_map_imports_no_numerical_library() -> None:
    code = (
        "import sys, streams.calibration.map as m\n"
        "c = m.CalibrationMap(version='v', entries=[])\n"
        "assert c.apply('toxic', 'nl', 0.3) == 0.3\n"
        "heavy = {'numpy', 'sklearn', 'scipy', 'matplotlib'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
        "import streams.commands.evaluate\n"
        "assert not {'numpy', 'sklearn', 'streams.evaluation.run'} & set(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _pairs(
    category: str, n: int, positives: int, language: str | None = None
) -> list[LabelledScore]:
    return [
        LabelledScore(f"{language}-{i}", category, language, i / n, int(i < positives))
        for i in range(n)
    ]


def test_too_few_examples_are_refused_and_said_so() -> None:
    options = CalibrationOptions(min_isotonic=200, min_platt=30, min_per_class=5)
    pairs = _pairs("insult", 20, 10) + _pairs("toxic", 60, 20) + _pairs("threat", 500, 3)
    calibration, outcomes = fit_map(pairs, options)
    said = {o.category: (o.method, o.reason) for o in outcomes}
    assert said["insult"][0] == "refused" and "fewer than 30" in said["insult"][1]
    assert said["toxic"][0] == "platt"
    assert said["threat"][0] == "refused" and "smaller class" in said["threat"][1]
    assert [e.category for e in calibration.entries] == ["toxic"]
    assert calibration.version.startswith("cal-")
    assert fit_map(pairs, options)[0].version == calibration.version  # same fit, same version


def test_a_language_gets_its_own_fit_only_with_enough_examples() -> None:
    options = CalibrationOptions(min_isotonic=200, min_platt=30)
    pairs = _pairs("toxic", 300, 100, "nl") + _pairs("toxic", 100, 30, "en")
    calibration, outcomes = fit_map(pairs, options)
    assert [(o.language, o.method) for o in outcomes] == [
        (None, "isotonic"), ("en", "refused"), ("nl", "isotonic"),
    ]  # fmt: skip
    assert calibration.entry("toxic", "nl") is not None
    assert calibration.entry("toxic", "en") is calibration.entry("toxic", None)


class OverScoringBackend:
    """Scores ``insult`` far above how often it is right; every other category truthfully.

    Each text is ``"<p>"``: the post is an insult with probability p (the labels are drawn so).
    """

    name = "over-scoring"
    model = "test"
    prompt_version = "none"

    async def score_batch(self, posts: Sequence[PostToScore]) -> BatchScores:
        results: dict[str, ItemResult] = {}
        for post in posts:
            p = float(post.text)
            scores = {c: 0.0 for c in CATEGORIES}
            scores["toxic"] = p
            scores["insult"] = min(1.0, 0.45 + p)
            results[post.status_id] = ScoredItem(post.status_id, scores)
        return BatchScores(results)

    async def close(self) -> None:
        return None


def _examples(n: int, seed: int) -> list[LabelledCase]:
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        p = rng.random() * 0.55
        label = int(rng.random() < p)
        labels: Mapping[str, int] = {"insult": label, "toxic": label}
        cases.append(LabelledCase(f"ex:{i}", f"{p:.4f}", labels, language="nl"))
    return cases


def test_fit_lowers_the_calibration_error_of_an_over_scoring_backend() -> None:
    cases = _examples(3000, seed=7)

    def backend_for(settings: Settings) -> ScoringBackend:
        return OverScoringBackend()

    config = ScoringConfig("over", Settings(scoring_backend="lexicon", batch_size=100))
    [[scores]] = asyncio.run(score_all([config], [cases], backend_for=backend_for))
    pairs = pairs_from_cases(scored_cases(cases, scores))
    fit = calibrate(pairs, CalibrationOptions(holdout=0.3))
    checks = {c.category: c for c in fit.holdout}
    print(f"\nheld out: {fit.holdout_examples} of {len(cases)} examples; "
          + "; ".join(f"{c.category} ECE {c.ece_before:.3f} -> {c.ece_after:.3f}"
                      for c in fit.holdout))  # fmt: skip
    assert 700 < fit.holdout_examples < 1100 and fit.train_examples + fit.holdout_examples == 3000
    insult = checks["insult"]
    assert insult.ece_before is not None and insult.ece_after is not None
    assert insult.ece_before > 0.3 and insult.ece_after < insult.ece_before / 4
    toxic = checks["toxic"]
    assert toxic.ece_before is not None and toxic.ece_after is not None
    assert toxic.ece_after < toxic.ece_before + 0.03  # an honest score is not made worse
    methods = {(o.category, o.language): o.method for o in fit.outcomes}
    assert methods[("insult", None)] == "isotonic"
    # The fitted map flags insults only where they are likely: not at the raw 0.5.
    assert fit.map.apply("insult", "nl", 0.5) < 0.2
