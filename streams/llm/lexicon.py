"""The offline ``lexicon`` backend: word and phrase lists per category, Dutch and English.

A baseline for demos without an API key and a deterministic scorer for the local LLM server. It
knows words, not context: it cannot tell quoting from meaning, so its scores are deliberately
coarse (0.3 mild, 0.6 clear, 0.9 explicit) and its lists short.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Final

from streams.categories import CATEGORIES

MODEL: Final = "lexicon-v1"

MILD: Final = 0.3
CLEAR: Final = 0.6
EXPLICIT: Final = 0.9

# Term syntax: lower-case, accent-free words separated by spaces (any run of whitespace matches);
# "(x)" marks an optional part, e.g. "gelukszoeker(s)". Matching is on whole words.
_TERMS: Final[Mapping[str, Mapping[str, float]]] = {
    # --- Dutch -----------------------------------------------------------------------
    "gelukszoeker(s)": {"racism": CLEAR, "hate_speech": CLEAR, "toxic": MILD},
    "kutmarokka(a)n(en)": {
        "racism": EXPLICIT,
        "hate_speech": EXPLICIT,
        "insult": CLEAR,
        "toxic": CLEAR,
    },
    "omvolking": {"extremism": EXPLICIT, "islamophobia": CLEAR, "racism": CLEAR},
    "omvolkingstheorie": {"extremism": CLEAR},
    "remigratie": {"extremism": CLEAR, "racism": MILD},
    "landverrader(s)": {"insult": CLEAR, "toxic": MILD, "extremism": MILD},
    "volksverrader(s)": {"insult": CLEAR, "extremism": CLEAR, "toxic": CLEAR},
    "linkse ratten": {"dehumanization": EXPLICIT, "insult": CLEAR, "toxic": CLEAR},
    "wappie(s)": {"insult": MILD},
    "tokkie(s)": {"insult": CLEAR, "toxic": MILD},
    "gestoord(e)": {"ableism": CLEAR, "insult": CLEAR},
    "mongool": {"ableism": EXPLICIT, "insult": CLEAR, "toxic": CLEAR},
    "mongolen": {"ableism": EXPLICIT, "insult": CLEAR, "toxic": CLEAR},
    "debiel(en)": {"ableism": CLEAR, "insult": CLEAR},
    "idioot": {"insult": MILD},
    "idioten": {"insult": MILD},
    "klootzak(ken)": {"insult": CLEAR, "toxic": CLEAR},
    "kankerlijer(s)": {"insult": EXPLICIT, "toxic": EXPLICIT},
    "tyfuslijer(s)": {"insult": EXPLICIT, "toxic": EXPLICIT},
    "hoer(en)": {"sexism": CLEAR, "insult": CLEAR, "toxic": CLEAR},
    "wijf": {"sexism": CLEAR, "insult": CLEAR},
    "flikker(s)": {"homophobia": EXPLICIT, "insult": CLEAR, "toxic": CLEAR},
    "kopvod(den)": {"islamophobia": EXPLICIT, "insult": CLEAR},
    "kopvoddentaks": {"islamophobia": EXPLICIT},
    "islam is geen religie": {"islamophobia": EXPLICIT, "hate_speech": CLEAR},
    "ongedierte": {"dehumanization": EXPLICIT, "toxic": CLEAR},
    "parasieten": {"dehumanization": CLEAR},
    "kakkerlakken": {"dehumanization": CLEAR},
    "globalisten": {"antisemitism": CLEAR},
    "ga terug naar je eigen land": {"racism": CLEAR, "hate_speech": CLEAR},
    "ik maak je af": {"threat": EXPLICIT, "toxic": EXPLICIT},
    "je gaat eraan": {"threat": CLEAR, "toxic": CLEAR},
    "tegen de muur": {"threat": CLEAR, "extremism": MILD},
    "moet(en) opgehangen worden": {"threat": EXPLICIT, "extremism": CLEAR},
    "verdient een kogel": {"threat": EXPLICIT, "toxic": EXPLICIT},
    "dood aan": {"threat": CLEAR, "extremism": CLEAR},
    "bloed en bodem": {"extremism": EXPLICIT, "racism": CLEAR},
    # --- English ---------------------------------------------------------------------
    "globalist(s)": {"antisemitism": CLEAR},
    "rothschilds": {"antisemitism": CLEAR},
    "holocaust hoax": {"antisemitism": EXPLICIT, "extremism": CLEAR},
    "holocaust never happened": {"antisemitism": EXPLICIT, "extremism": CLEAR},
    "zionist occupied government": {"antisemitism": EXPLICIT, "extremism": CLEAR},
    "great replacement": {"extremism": CLEAR, "racism": MILD},
    "white genocide": {"extremism": EXPLICIT, "racism": CLEAR},
    "white power": {"extremism": EXPLICIT, "racism": CLEAR},
    "heil hitler": {"extremism": EXPLICIT, "antisemitism": CLEAR},
    "sieg heil": {"extremism": EXPLICIT, "antisemitism": CLEAR},
    "1488": {"extremism": EXPLICIT, "antisemitism": CLEAR},
    "blood and soil": {"extremism": EXPLICIT, "racism": CLEAR},
    "islam is not a religion": {"islamophobia": EXPLICIT, "hate_speech": CLEAR},
    "muzzie(s)": {"islamophobia": EXPLICIT, "insult": CLEAR},
    "go back to your (own )country": {"racism": CLEAR, "hate_speech": CLEAR},
    "vermin": {"dehumanization": EXPLICIT, "toxic": CLEAR},
    "parasites": {"dehumanization": CLEAR},
    "cockroaches": {"dehumanization": CLEAR},
    "subhuman(s)": {"dehumanization": EXPLICIT, "hate_speech": CLEAR},
    "untermenschen": {"dehumanization": EXPLICIT, "extremism": EXPLICIT},
    "feminazi(s)": {"sexism": CLEAR, "insult": CLEAR},
    "women belong in the kitchen": {"sexism": EXPLICIT},
    "slut(s)": {"sexism": CLEAR, "insult": CLEAR, "toxic": CLEAR},
    "groomer(s)": {"homophobia": CLEAR, "insult": CLEAR},
    "tranny": {"homophobia": EXPLICIT, "insult": CLEAR},
    "faggot(s)": {"homophobia": EXPLICIT, "insult": CLEAR, "toxic": CLEAR},
    "retard(s)": {"ableism": EXPLICIT, "insult": CLEAR, "toxic": CLEAR},
    "retarded": {"ableism": CLEAR, "insult": CLEAR},
    "idiot(s)": {"insult": MILD},
    "moron(s)": {"insult": CLEAR},
    "asshole(s)": {"insult": CLEAR, "toxic": CLEAR},
    "traitor(s)": {"insult": MILD},
    "kill yourself": {"threat": EXPLICIT, "toxic": EXPLICIT},
    "kys": {"threat": EXPLICIT, "toxic": EXPLICIT},
    "i will kill you": {"threat": EXPLICIT, "toxic": EXPLICIT},
    "should be hanged": {"threat": EXPLICIT, "extremism": CLEAR},
    "deserves a bullet": {"threat": EXPLICIT, "toxic": EXPLICIT},
    "death to": {"threat": CLEAR, "extremism": CLEAR},
}

# Patterns that are not words: (((echo))) around a name marks a Jewish target.
_SYMBOLS: Final[tuple[tuple[re.Pattern[str], Mapping[str, float]], ...]] = (
    (re.compile(r"\(\(\(\s*[^()\s][^()]{0,60}\)\)\)"), {"antisemitism": EXPLICIT}),
)


def _term_pattern(term: str) -> str:
    # normalize() leaves single spaces, so a term's spaces match literally.
    parts = (p for p in re.split(r"(\([^)]*\))", term) if p)
    regex = "".join(
        f"(?:{re.escape(p[1:-1])})?" if p.startswith("(") else re.escape(p) for p in parts
    )
    return rf"(?<!\w){regex}(?!\w)"


def _compile() -> tuple[tuple[re.Pattern[str], Mapping[str, float]], ...]:
    compiled = tuple((re.compile(_term_pattern(term)), scores) for term, scores in _TERMS.items())
    return compiled + _SYMBOLS


_PATTERNS: Final = _compile()


def normalize(text: str) -> str:
    """Case-folded, accent-free text with single spaces: 'Gestóórd' and 'gestoord' match alike."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    # Drop accents, and zero-width characters (format category) used to dodge word lists.
    stripped = "".join(
        ch
        for ch in decomposed
        if not unicodedata.combining(ch) and unicodedata.category(ch) != "Cf"
    )
    return " ".join(stripped.split())


def score_text(text: str) -> dict[str, float]:
    """All twelve categories for ``text``: per category, the strongest term that matched."""
    scores = dict.fromkeys(CATEGORIES, 0.0)
    normalized = normalize(text)
    for pattern, hits in _PATTERNS:
        if pattern.search(normalized):
            for category, score in hits.items():
                scores[category] = max(scores[category], score)
    return scores
