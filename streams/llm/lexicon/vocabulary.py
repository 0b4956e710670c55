"""The lexicon's phrases compiled into a word trie, and a text's words matched against it.

A text's word may stand for several of the lexicon's words (a guessed spelling); matching walks
the trie with all of them, at most :data:`MAX_PHRASE` words from each start, so its cost is
linear in the text's length.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final

from streams.llm.lexicon.entries import Entry, Role
from streams.llm.lexicon.spelling import misspellings, segment, spellings
from streams.llm.lexicon.text import Token, Tokens
from streams.llm.lexicon.words import FUNCTION_WORDS, JOINERS

#: Run-together words are cut only up to this length ("ihatewomen", not a pasted blob).
MAX_SEGMENTED: Final = 40
MIN_SEGMENTED: Final = 4
#: Pieces are joined only into a word this long ("wo men", not "a n"), and a run-together
#: word is cut only into lexicon words this long (or small function words).
MIN_JOINED: Final = 4
_WORD: Final = re.compile(r"[^\W_]+(?:'[^\W_]+)*|\d+")


def expand(term: str) -> list[tuple[str, ...]]:
    """Every word sequence a term stands for: "(x)" optional, "(x|y)" either."""
    parts = [p for p in re.split(r"(\([^)]*\))", term) if p]
    choices = [p[1:-1].split("|") + ([] if "|" in p else [""]) if p.startswith("(") else [p]
               for p in parts]  # fmt: skip
    return [tuple(_WORD.findall("".join(pick))) for pick in itertools.product(*choices)]


@dataclass
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)


@dataclass(frozen=True)
class Word:
    """A text's word with the lexicon words it may stand for (else its plainest spelling)."""

    token: Token
    forms: tuple[str, ...]
    known: bool


@dataclass(frozen=True)
class Hit:
    entry: Entry
    start: int
    end: int


class Vocabulary:
    def __init__(self, tables: Iterable[Mapping[str, Entry]]) -> None:
        self.root = _Node()
        self.max_phrase = 1
        for table in tables:
            for term, entry in table.items():
                for words in expand(term):
                    self._add(words, entry)
        self.words = frozenset(w for w in self._walk(self.root))
        self.content = self.words - FUNCTION_WORDS
        self.groups = frozenset(w for w, n in self.root.children.items()
                                if any(e.group for e in n.entries))  # fmt: skip
        self.guesses = misspellings(self.content, self.groups, self.words | FUNCTION_WORDS)
        # Short lexicon words ("te", "af", "kys") would cut almost anything: only longer ones.
        self.joinable = frozenset(w for w in self.words if len(w) >= MIN_JOINED) | JOINERS
        self.lengths = tuple(sorted({len(w) for w in self.joinable}, reverse=True))

    def _add(self, words: tuple[str, ...], entry: Entry) -> None:
        node = self.root
        for word in words:
            node = node.children.setdefault(word, _Node())
        if entry not in node.entries:  # "transgender(s)" and "transgenders" are one entry
            node.entries.append(entry)
        self.max_phrase = max(self.max_phrase, len(words))

    def _walk(self, node: _Node) -> Iterable[str]:
        for word, child in node.children.items():
            yield word
            yield from self._walk(child)

    def forms(self, word: str) -> tuple[tuple[str, ...], bool]:
        """The lexicon words ``word`` may stand for and True, or its plainest spelling."""
        return _forms(self, word)

    def words_of(self, tokens: Tokens) -> list[Word]:
        return [self._word(t) for t in self._cut(self._join(tokens.tokens))]

    def _word(self, token: Token) -> Word:
        forms, known = self.forms(token.text)
        return Word(token, forms, known)

    def _join(self, tokens: tuple[Token, ...]) -> list[Token]:
        """Two or three unknown pieces that make a content word are one: "mus lims"."""
        out: list[Token] = []
        i = 0
        while i < len(tokens):
            for size in (3, 2):
                piece = tokens[i : i + size]
                if len(piece) == size and self._joins(piece):
                    out.append(Token("".join(t.text for t in piece), piece[0].clause,
                                     piece[0].quoted, piece[0].glued))  # fmt: skip
                    i += size
                    break
            else:
                out.append(tokens[i])
                i += 1
        return out

    def _joins(self, pieces: tuple[Token, ...]) -> bool:
        if not all(t.glued for t in pieces[1:]) or any(self.forms(t.text)[1] for t in pieces):
            return False
        merged = "".join(t.text for t in pieces)
        return merged in self.content and len(merged) >= MIN_JOINED

    def _cut(self, tokens: list[Token]) -> list[Token]:
        out: list[Token] = []
        for token in tokens:
            pieces = self._pieces(token.text)
            if pieces is None:
                out.append(token)
                continue
            for i, piece in enumerate(pieces):
                out.append(Token(piece, token.clause, token.quoted, token.glued or i > 0))
        return out

    def _pieces(self, word: str) -> list[str] | None:
        if not MIN_SEGMENTED <= len(word) <= MAX_SEGMENTED or self.forms(word)[1]:
            return None
        pieces = next((p for f in self.forms(word)[0]
                       if (p := segment(f, self.joinable, self.lengths))), None)  # fmt: skip
        if pieces is None or len(pieces) < 2 or not any(p in self.words for p in pieces):
            return None
        # A group's name and a content word are a compound noun: "vrouwenhaat" is misogyny,
        # the word for it, not a statement of it.
        if len(pieces) == 2 and pieces[0] in self.groups and pieces[1] in self.content:
            return None
        return pieces

    def hits(self, words: list[Word]) -> list[Hit]:
        """Every entry matched, longest phrase per start; hits inside a longer one dropped."""
        found: list[Hit] = []
        for start in range(len(words)):
            nodes, best = [self.root], None
            for end in range(start, min(len(words), start + self.max_phrase)):
                if end > start and not words[end].token.glued:
                    break
                nodes = [n.children[f] for n in nodes for f in words[end].forms
                         if f in n.children]  # fmt: skip
                if not nodes:
                    break
                entries = [e for n in nodes for e in n.entries]
                if entries:
                    best = (end + 1, entries)
            if best:
                found.extend(Hit(e, start, best[0]) for e in best[1])
        return self._outermost(found)

    def _outermost(self, hits: list[Hit]) -> list[Hit]:
        # One longest phrase per start, and phrases are short: look back a phrase's length.
        ends = {h.start: h.end for h in hits}
        return [
            h for h in hits
            if not any(ends.get(s, -1) >= h.end and ends[s] - s > h.end - h.start
                       for s in range(h.start - self.max_phrase + 1, h.start + 1))
        ]  # fmt: skip


@lru_cache(maxsize=65536)
def _forms(vocabulary: Vocabulary, word: str) -> tuple[tuple[str, ...], bool]:
    variants = list(dict.fromkeys(spellings(word)))
    known = tuple(v for v in variants if v in vocabulary.words)
    if known:
        return known, True
    guessed = sorted({w for v in variants for w in vocabulary.guesses.get(v, ())})
    if guessed:
        return tuple(guessed), True
    return tuple(variants), False


def is_group(entry: Entry) -> bool:
    return entry.group is not None and entry.role in (Role.GROUP, Role.TERM)
