"""The offline ``lexicon`` backend: word and phrase lists per category, Dutch and English.

A baseline for demos without an API key and a deterministic scorer for the local LLM server. It
knows words and a little of how they combine: a hostile predicate ("hate", "disgusting",
"should die", "are vermin") aimed at a protected group named in the same clause is hate speech
against that group; negation cancels it ("I don't hate", "niet walgelijk"); quotes and talk
condemning what was said lower it; spelling tricks (leetspeak, repeated, spaced, left-out or
swapped letters, words run together) are undone first. It cannot tell irony or implication,
so its scores stay coarse (0.3 mild, 0.6 clear, 0.9 explicit) and its lists short.

- :mod:`.terms`: coded terms and slurs; :mod:`.targets`: the protected groups' names;
  :mod:`.predicates`: hostile predicates; :mod:`.words`: the function words context is read
  from; :mod:`.text`, :mod:`.spelling`, :mod:`.vocabulary`: from text to matched phrases;
  :mod:`.scorer`: from phrases in context to scores.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from streams.categories import CATEGORIES
from streams.llm.lexicon.entries import CLEAR, EXPLICIT, MILD, Entry
from streams.llm.lexicon.predicates import CURSES, PREDICATES
from streams.llm.lexicon.scorer import Context, cap, counter_speech, fits, judge
from streams.llm.lexicon.targets import GROUPS
from streams.llm.lexicon.terms import SYMBOLS, TERMS
from streams.llm.lexicon.text import fold, normalize, tokenize
from streams.llm.lexicon.vocabulary import Vocabulary

__all__ = ["CLEAR", "EXPLICIT", "MILD", "MODEL", "TABLES", "normalize", "score_text"]

MODEL: Final = "lexicon-v2"

#: Every table of the lexicon, in one term syntax (see :mod:`.terms`).
TABLES: Final[tuple[Mapping[str, Entry], ...]] = (TERMS, GROUPS, PREDICATES, CURSES)

_VOCABULARY: Final = Vocabulary(TABLES)


def score_text(text: str) -> dict[str, float]:
    """All twelve categories for ``text``: per category, the strongest hit in its context."""
    scores = dict.fromkeys(CATEGORIES, 0.0)
    folded = fold(text)
    tokens = tokenize(folded)
    words = _VOCABULARY.words_of(tokens)
    found = _VOCABULARY.hits(words)
    context = Context.of(words, found)
    hits = [h for h in found if fits(h, context)]
    countered = counter_speech(words)
    mixed = any(not w.token.quoted for w in words) and any(w.token.quoted for w in words)
    for hit, hit_scores in judge(hits, words, tokens.questions):
        limit = cap(hit, words, countered, mixed)
        for category, score in hit_scores.items():
            scores[category] = max(scores[category], min(score, limit))
    normalized = " ".join(folded.split())
    for pattern, symbol_scores in SYMBOLS:
        if pattern.search(normalized):
            for category, score in symbol_scores.items():
                scores[category] = max(scores[category], score)
    return scores
