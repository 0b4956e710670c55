"""How HateCheck-style suites map onto the twelve categories: the one place this is decided.

A HateCheck case says only whether it is hateful and whom it is about, so it labels only the
categories that follow from that:

- ``hate_speech``: 1 for ``hateful``, 0 for ``non-hateful``;
- the protected-group categories (:data:`GROUP_CATEGORIES`): for a hateful case, 1 for the
  target's category (:data:`TARGET_CATEGORIES`) and 0 for the others; for a non-hateful case,
  0 for all of them;
- every other category (toxic, threat, insult, dehumanization, extremism) stays unlabelled: a
  suite's threat or profanity case says nothing certain about them, so they are left out of
  that category's figures rather than counted as 0.

A hateful case whose target maps to no category (empty, or a group not listed) labels
``hate_speech`` only; the reader counts such cases in its summary.

Accuracy, the suites' headline figure, is the agreement on ``hate_speech`` (:data:`HATE_CATEGORY`):
a case is predicted hateful when its ``hate_speech`` score is at or above the flag threshold.
This is the category whose label *is* the suite's gold label; the group categories get their
own precision and recall.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from streams.categories import Category

#: The category whose flag decides a case's predicted hatefulness for accuracy.
HATE_CATEGORY: Final = Category.HATE_SPEECH

#: Categories about one protected group: labelled 0/1 on every suite case.
GROUP_CATEGORIES: Final[tuple[Category, ...]] = (
    Category.RACISM,
    Category.ANTISEMITISM,
    Category.ISLAMOPHOBIA,
    Category.SEXISM,
    Category.HOMOPHOBIA,
    Category.ABLEISM,
)

#: A suite's ``target_ident`` (lower case) -> the category hate against that group belongs to.
TARGET_CATEGORIES: Final[Mapping[str, Category]] = {
    "women": Category.SEXISM,
    "gay people": Category.HOMOPHOBIA,
    "trans people": Category.HOMOPHOBIA,
    "black people": Category.RACISM,
    "immigrants": Category.RACISM,
    "muslims": Category.ISLAMOPHOBIA,
    "jews": Category.ANTISEMITISM,
    "jewish people": Category.ANTISEMITISM,
    "disabled people": Category.ABLEISM,
}

#: ``label_gold`` values and what they mean.
GOLD_LABELS: Final[Mapping[str, bool]] = {"hateful": True, "non-hateful": False}

#: Functionality prefixes reported apart from the rest, with the name of their group.
FUNCTIONALITY_GROUPS: Final[Mapping[str, str]] = {
    "counter_": "counter-speech",
    "negate_": "negation",
}

#: Multilingual HateCheck case ids start with the language's English name ("dutch-17").
MHC_LANGUAGES: Final[Mapping[str, str]] = {
    "arabic": "ar",
    "dutch": "nl",
    "french": "fr",
    "german": "de",
    "hindi": "hi",
    "italian": "it",
    "mandarin": "zh",
    "polish": "pl",
    "portuguese": "pt",
    "spanish": "es",
}

#: HateCheck's original suite (``case_id`` without a language) is English.
DEFAULT_SUITE_LANGUAGE: Final = "en"


def suite_labels(hateful: bool, target: str | None) -> tuple[dict[str, int], bool]:
    """The labels a suite case gives, and whether its target mapped to a category.

    ``target`` is the case's ``target_ident`` (any case; blank or None for none).
    """
    labels: dict[str, int] = {HATE_CATEGORY.value: int(hateful)}
    category = TARGET_CATEGORIES.get((target or "").strip().lower())
    if hateful and category is None:
        return labels, False
    for group in GROUP_CATEGORIES:
        labels[group.value] = int(hateful and group == category)
    return labels, True


def functionality_group(functionality: str | None) -> str | None:
    """``counter-speech``, ``negation`` or None for a functionality name."""
    for prefix, group in FUNCTIONALITY_GROUPS.items():
        if functionality and functionality.startswith(prefix):
            return group
    return None


def suite_language(case_id: str | None) -> str:
    """The language of a suite case from its Multilingual HateCheck id, else English."""
    prefix = (case_id or "").split("-", 1)[0].strip().lower()
    return MHC_LANGUAGES.get(prefix, DEFAULT_SUITE_LANGUAGE)
