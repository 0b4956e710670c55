"""A fitted calibration map: raw score -> calibrated score, per category and language.

This is what a worker loads and applies, so it is plain Python (no numpy, no scikit-learn) and a
versioned record (JSON, ``schema_version``). Each entry is one of:

- ``isotonic``: a non-decreasing piecewise-linear function through the knots ``(x, y)``, flat
  beyond the first and last knot (as scikit-learn's ``IsotonicRegression`` predicts with
  ``out_of_bounds="clip"``);
- ``platt``: ``1 / (1 + exp(-(a * score + b)))``.

:meth:`CalibrationMap.apply` uses the entry of the post's language, else the entry for every
language (``language`` None), else returns the score unchanged: a category the fit refused is
not calibrated.
"""

from __future__ import annotations

import bisect
import math
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from streams.models.base import Record


def source_key(backend: str, model: str, prompt_version: str) -> str:
    """The scoring configuration a map is for, and its key on the calibration topic:
    ``backend/model/prompt version``."""
    return f"{backend}/{model}/{prompt_version}"


def language_key(language: str | None) -> str | None:
    """``nl-NL`` and ``NL`` -> ``nl``; blank -> None."""
    if language is None or not language.strip():
        return None
    return language.strip().lower().replace("_", "-").split("-", 1)[0]


class CategoryCalibration(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    category: str
    language: str | None = Field(None, description="Primary language subtag; None: every one.")
    method: Literal["isotonic", "platt"]
    examples: int = Field(ge=0, description="(score, label) pairs it was fitted on.")
    positives: int = Field(ge=0)
    x: list[float] = Field(default_factory=list, description="Isotonic knots: raw scores.")
    y: list[float] = Field(default_factory=list, description="Calibrated score at each knot.")
    a: float | None = Field(None, description="Platt slope.")
    b: float | None = Field(None, description="Platt intercept.")

    @model_validator(mode="after")
    def _check_shape(self) -> Self:
        if self.method == "isotonic":
            if not self.x or len(self.x) != len(self.y):
                raise ValueError("isotonic needs as many y as x knots, at least one")
            if any(b < a for a, b in zip(self.x, self.x[1:], strict=False)):
                raise ValueError("isotonic knots x must be non-decreasing")
            if any(not 0.0 <= v <= 1.0 for v in self.y):
                raise ValueError("isotonic values y must lie in [0, 1]")
        elif self.a is None or self.b is None:
            raise ValueError("platt needs a and b")
        return self

    def __call__(self, score: float) -> float:
        if self.method == "platt":
            assert self.a is not None and self.b is not None  # checked by the validator
            z = self.a * score + self.b
            # Split by sign so exp never overflows.
            return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
        return _interpolate(self.x, self.y, score)


def _interpolate(xs: list[float], ys: list[float], score: float) -> float:
    if score <= xs[0]:
        return ys[0]
    if score >= xs[-1]:
        return ys[-1]
    i = bisect.bisect_right(xs, score)  # xs[i - 1] <= score < xs[i]
    x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
    if x1 == x0:
        return y1
    return y0 + (y1 - y0) * (score - x0) / (x1 - x0)


class CalibrationMap(Record):
    """A versioned set of per-category (and per-language) calibrations."""

    schema_version: Literal[1] = 1
    version: str = Field(min_length=1, description="Goes on every record scored with this map.")
    source: str | None = Field(
        None, description="Backend, model and prompt the raw scores came from."
    )
    entries: list[CategoryCalibration] = Field(default_factory=list)

    _index: dict[tuple[str, str | None], CategoryCalibration] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _unique(self) -> Self:
        keys = [(e.category, e.language) for e in self.entries]
        if len(keys) != len(set(keys)):
            raise ValueError("two entries for the same category and language")
        return self

    def model_post_init(self, context: object) -> None:
        self._index = {(e.category, e.language): e for e in self.entries}

    def entry(self, category: str, language: str | None) -> CategoryCalibration | None:
        """The entry that applies: the language's own, else the all-language one, else None."""
        key = language_key(language)
        if key is not None and (category, key) in self._index:
            return self._index[(category, key)]
        return self._index.get((category, None))

    def apply(self, category: str, language: str | None, score: float) -> float:
        """The calibrated score (the raw one where no entry applies)."""
        entry = self.entry(category, language)
        return score if entry is None else entry(score)

    def apply_all(self, scores: dict[str, float], language: str | None) -> dict[str, float]:
        return {c: self.apply(c, language, s) for c, s in scores.items()}
