"""The twelve toxicity categories: the one place they are defined.

Every model, prompt, schema, label vector and metric derives its category list from here,
so adding or renaming a category is a change to this module only.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Category(StrEnum):
    TOXIC = "toxic"
    THREAT = "threat"
    HATE_SPEECH = "hate_speech"
    RACISM = "racism"
    ANTISEMITISM = "antisemitism"
    ISLAMOPHOBIA = "islamophobia"
    SEXISM = "sexism"
    HOMOPHOBIA = "homophobia"
    INSULT = "insult"
    DEHUMANIZATION = "dehumanization"
    EXTREMISM = "extremism"
    ABLEISM = "ableism"


#: Category names in their canonical order (the order of prompts, schemas and label vectors).
CATEGORIES: Final[tuple[str, ...]] = tuple(c.value for c in Category)
#: The same, as members: cheaper to iterate than looking each name up again.
MEMBERS: Final[tuple[Category, ...]] = tuple(Category)

#: What each category means, in the words the classifier prompt and the docs use.
DEFINITIONS: Final[dict[Category, str]] = {
    Category.TOXIC: "rude, disrespectful or aggressive language",
    Category.THREAT: "threats of violence, harm or intimidation, or calls to act against a person",
    Category.HATE_SPEECH: (
        "attacks on people for a protected characteristic (race, religion, gender, sexual "
        "orientation, disability, nationality)"
    ),
    Category.RACISM: (
        "targeting race or ethnicity (anti-Black, anti-Asian, anti-Moroccan; derogatory "
        "'Zwarte Piet' framing)"
    ),
    Category.ANTISEMITISM: (
        "targeting Jewish people: Holocaust denial or minimisation, Jewish conspiracy theories, "
        "coded terms such as 'globalists', 'Rothschilds', triple parentheses"
    ),
    Category.ISLAMOPHOBIA: (
        "anti-Muslim hate: 'Islam is not a religion', takeover/'omvolking' narratives, "
        "targeting halal or hijab, opposition to mosques framed as hate"
    ),
    Category.SEXISM: "discrimination or harassment by gender, misogyny or misandry",
    Category.HOMOPHOBIA: "targeting sexual orientation or gender identity, anti-LGBTQ+ rhetoric",
    Category.INSULT: "personal attacks, name-calling, belittling",
    Category.DEHUMANIZATION: "comparing people to animals, vermin, disease or parasites",
    Category.EXTREMISM: (
        "far-right or far-left extremist rhetoric, Nazi glorification, white supremacy, Great "
        "Replacement ('omvolkingstheorie'), calls for political violence, glorified fascism"
    ),
    Category.ABLEISM: (
        "targeting disabled people, or mental conditions as insults ('gestoord', 'autist' as a "
        "slur, 'mongool')"
    ),
}


_BY_VALUE: Final[dict[str, Category]] = {c.value: c for c in Category}


def parse_category(name: str) -> Category:
    """Return the category named ``name``, or raise ValueError listing the valid names."""
    try:
        return _BY_VALUE[name.strip().lower()]
    except KeyError:
        raise ValueError(
            f"unknown category {name!r}: expected one of {', '.join(CATEGORIES)}"
        ) from None
