"""Text into words: folding, letters spaced out to dodge word lists, quotes and clauses.

Every step is one left-to-right pass or a regular expression without nested repetition, so a
hostile text costs time in proportion to its length.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final

from streams.llm.lexicon.words import CLAUSE_WORDS, COMMA_CLAUSE_WORDS, NOT_CLAUSE_AFTER

_QUOTE_MARKS: Final = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u02bc": "'", "\u00b4": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"', "\u00bb": '"',
})  # fmt: skip

#: Three or more single letters apart by one or two separators: "h a t e", "h.a.t.e", "h-a-t-e".
#: Letters and separators never overlap, so the match cannot backtrack far.
_SPACED: Final = re.compile(r"(?<![^\W_])[^\W_](?:[ .\-_*/]{1,2}[^\W_](?![^\W_])){2,}")
#: A word: letters and digits, "@" and "$" (leetspeak), and between them apostrophes ("don't")
#: or "!" and "|" standing for letters ("k!ll").
_WORD: Final = re.compile(r"(?:[^\W_]|[@$])+(?:['!|](?:[^\W_]|[@$])+)*")
#: Sentence punctuation ends a clause; a line break does not (phrases run across any
#: whitespace, as a post wraps them).
_CLAUSE_END: Final = frozenset(".!?;:\u2026")


def fold(text: str) -> str:
    """Case-folded and accent-free, zero-width characters dropped, quote marks made plain."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    # Drop accents, and zero-width characters (format category) used to dodge word lists.
    stripped = "".join(
        ch
        for ch in decomposed
        if not unicodedata.combining(ch) and unicodedata.category(ch) != "Cf"
    )
    return stripped.translate(_QUOTE_MARKS)


def normalize(text: str) -> str:
    """Folded text with single spaces: 'Gestóórd' and 'gestoord' match alike."""
    return " ".join(fold(text).split())


@dataclass(frozen=True)
class Token:
    text: str
    clause: int
    quoted: bool
    #: Only spaces or a hyphen since the word before, in the same clause: a phrase may go on.
    glued: bool


@dataclass(frozen=True)
class Tokens:
    tokens: tuple[Token, ...]
    #: Clauses that end in a question mark.
    questions: frozenset[int]


def join_spaced_letters(text: str) -> str:
    return _SPACED.sub(lambda m: "".join(ch for ch in m.group() if ch.isalnum()), text)


def quoted_spans(text: str) -> list[tuple[int, int]]:
    """Stretches between matching quote marks; an apostrophe inside a word is no quote mark."""
    spans: list[tuple[int, int]] = []
    opened: int | None = None
    for match in re.finditer(r"[\"']", text):
        i = match.start()
        before = text[i - 1] if i else " "
        after = text[i + 1] if i + 1 < len(text) else " "
        if text[i] == '"':
            can_open = can_close = True
        else:
            can_open = not before.isalnum() and after.isalnum()
            can_close = (before.isalnum() or before in ".!?,") and not after.isalnum()
        if opened is not None and can_close and text[opened] == text[i]:
            spans.append((opened, i))
            opened = None
        elif can_open:
            opened = i
    return spans


def _starts_clause(gap: str, word: str, previous: str) -> bool:
    if any(ch in _CLAUSE_END for ch in gap):
        return True
    if word in CLAUSE_WORDS:
        return previous not in NOT_CLAUSE_AFTER
    return word in COMMA_CLAUSE_WORDS and "," in gap


def tokenize(folded: str) -> Tokens:
    """The words of a folded text, with their clause and whether they stand in quotes."""
    text = join_spaced_letters(folded)
    spans = quoted_spans(text)
    tokens: list[Token] = []
    questions: set[int] = set()
    clause, span, end = 0, 0, 0
    for match in _WORD.finditer(text):
        gap = text[end : match.start()]
        word = match.group().lstrip("@")
        if not word:
            continue
        if tokens and _starts_clause(gap, word, tokens[-1].text):
            if "?" in gap:
                questions.add(clause)
            clause += 1
        while span < len(spans) and spans[span][1] < match.start():
            span += 1
        quoted = span < len(spans) and spans[span][0] < match.start()
        glued = bool(tokens) and tokens[-1].clause == clause and not gap.strip().strip("-")
        tokens.append(Token(word, clause, quoted, glued))
        end = match.end()
    if "?" in text[end:]:
        questions.add(clause)
    return Tokens(tuple(tokens), frozenset(questions))
