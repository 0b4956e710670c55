"""Spelling variants undone: leetspeak, letters repeated for emphasis, letters left out or
swapped, and words run together.

Guesses are made only towards the lexicon's own words, never towards the function words, and a
left-out or swapped letter is guessed only inside a word of some length (its first and last
letters stay, as a reader needs them): "muslms", "wmoen", but not "hat" for "hate".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Final

_LEET_CHARS: Final = "01345789@$!|"
_LEET: Final = str.maketrans(_LEET_CHARS, "oieastbgasil")
_LEET_L: Final = str.maketrans("1|", "ll")
#: A letter three times or more ("haaate"); digits stay as written ("14888" is no "1488").
_REPEATED: Final = re.compile(r"([^\W\d_])\1{2,}")
#: Shortest word a letter is guessed left out of, or swapped in. Group names are what
#: obfuscation aims at most, and their shorter forms are rarely other words ("wmen").
MIN_DELETION: Final = 6
MIN_GROUP_DELETION: Final = 5
MIN_SWAP: Final = 4


def spellings(word: str) -> Iterator[str]:
    """The word as written, then as it may have been meant."""
    yield word
    if word.endswith("'s"):
        yield word[:-2]
    forms = [word]
    if any(ch.isalpha() for ch in word) and any(ch in _LEET_CHARS for ch in word):
        forms = [word.translate(_LEET), word.translate(_LEET_L).translate(_LEET)]
        yield from forms
    for form in forms:
        if _REPEATED.search(form):
            yield _REPEATED.sub(r"\1", form)
            yield _REPEATED.sub(r"\1\1", form)


def deletions(word: str, shortest: int = MIN_DELETION) -> Iterator[str]:
    if len(word) >= shortest:
        for i in range(1, len(word) - 1):
            yield word[:i] + word[i + 1 :]


def swaps(word: str) -> Iterator[str]:
    if len(word) >= MIN_SWAP:
        # Any two neighbours but the first letter: "wmoen", "womne".
        for i in range(1, len(word) - 1):
            if word[i] != word[i + 1]:
                yield word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def misspellings(
    words: Iterable[str], groups: frozenset[str], keep_out: frozenset[str]
) -> dict[str, frozenset[str]]:
    """Each letter-left-out or letters-swapped form of ``words`` -> the words it may be.

    A form that is itself a word of ``keep_out`` (the lexicon's words, the function words) is
    left out: it means that word, not a misspelling."""
    guesses: dict[str, set[str]] = {}
    for word in words:
        if not word.isalpha():
            continue
        shortest = MIN_GROUP_DELETION if word in groups else MIN_DELETION
        for form in (*deletions(word, shortest), *swaps(word)):
            if form not in keep_out:
                guesses.setdefault(form, set()).add(word)
    return {form: frozenset(found) for form, found in guesses.items()}


def segment(word: str, known: frozenset[str], lengths: tuple[int, ...]) -> list[str] | None:
    """``word`` cut into the fewest ``known`` words, or None: "ihatewomen" -> i, hate, women.

    Linear in the word's length times the number of distinct lengths of known words."""
    best: list[int | None] = [0] + [None] * len(word)
    back = [0] * (len(word) + 1)
    for start in range(len(word)):
        pieces = best[start]
        if pieces is None:
            continue
        for length in lengths:
            stop = start + length
            if stop > len(word) or word[start:stop] not in known:
                continue
            so_far = best[stop]
            if so_far is None or pieces + 1 < so_far:
                best[stop], back[stop] = pieces + 1, start
    if best[len(word)] is None:
        return None
    cuts, stop = [], len(word)
    while stop:
        cuts.append(word[back[stop] : stop])
        stop = back[stop]
    return cuts[::-1]
