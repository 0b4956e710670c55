"""Scores from words in context: a hostile predicate aimed at a protected group is hate.

Per clause (sentences, and parts joined by "but"/"maar"): the groups it names, or, through a
pronoun, the groups the last clause before it named; the predicates that survive negation; and
what they score aimed at those groups. Counter-speech cues (quotes, or talk about what was said
together with a word condemning it) cap a hit's scores below the flag threshold: the lexicon
cannot be sure, so it does not flag.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from streams.llm.lexicon.entries import MILD, Entry, Need, Role
from streams.llm.lexicon.vocabulary import Hit, Word, is_group
from streams.llm.lexicon.words import (
    APPROVAL,
    BE,
    CONDEMNATION,
    COPULA_SUFFIX,
    COPULAS,
    INTENT,
    MODALS,
    NEGATOR_SUFFIX,
    NEGATORS_EN,
    NEGATORS_NL,
    NOUN_AFTER,
    NOUN_BEFORE,
    OBJECT_PRONOUNS,
    OTHER_OBJECTS,
    OTHER_SUBJECTS,
    PRONOUNS,
    REPORTING,
)

#: How far a negator reaches: "I would never say that gay people are disgusting".
NEGATION_WINDOW = 6
_PREDICATES = (Role.HOSTILE, Role.POSITIVE)
_CONTRACTED_SUBJECTS = frozenset({"it's", "its", "that's", "thats", "'t"})


def is_word(word: Word, words: frozenset[str]) -> bool:
    return word.token.text in words or any(f in words for f in word.forms)


def _before(words: list[Word], pos: int, count: int) -> list[Word]:
    clause = words[pos].token.clause
    return [w for w in words[max(0, pos - count) : pos] if w.token.clause == clause]


def _is_copula(word: Word) -> bool:
    return is_word(word, COPULAS) or word.token.text.endswith(COPULA_SUFFIX)


def _other_subject(words: list[Word], pos: int) -> bool:
    """ "it's stupid ...", "dat is (echt) walgelijk": the predicate is about something else."""
    before = _before(words, pos, 3)[::-1]
    for skip in (0, 1):
        if len(before) > skip and is_word(before[skip], _CONTRACTED_SUBJECTS):
            return True
        rest = before[skip:]
        if len(rest) > 1 and _is_copula(rest[0]) and is_word(rest[1], OTHER_SUBJECTS):
            return True
    return False


@dataclass(frozen=True)
class Context:
    """What the needs of entries are checked against, gathered once per text."""

    words: list[Word]
    #: Clauses with a modal, and with intent (a modal or a future).
    modal: frozenset[int]
    intent: frozenset[int]
    #: Where group names start.
    group_starts: frozenset[int]

    @classmethod
    def of(cls, words: list[Word], hits: list[Hit]) -> Context:
        return cls(
            words,
            frozenset(w.token.clause for w in words if is_word(w, MODALS)),
            frozenset(w.token.clause for w in words if is_word(w, INTENT)),
            frozenset(h.start for h in hits if is_group(h.entry)),
        )


def fits(hit: Hit, context: Context) -> bool:
    """Whether the context a hit's entry needs is there."""
    entry, words = hit.entry, context.words
    clause = words[hit.start].token.clause
    if entry.role in _PREDICATES and _other_subject(words, hit.start):
        return False
    if entry.need is Need.COPULA:
        return any(_is_copula(w) for w in _before(words, hit.start, 3))
    if entry.need is Need.PREDICATIVE:
        copula = any(_is_copula(w) for w in _before(words, hit.start, 3))
        return copula or hit.end in context.group_starts
    if entry.need is Need.BE:
        return any(is_word(w, BE) for w in _before(words, hit.start, 2))
    if entry.need in (Need.MODAL, Need.INTENT):
        return clause in (context.modal if entry.need is Need.MODAL else context.intent)
    if entry.need is Need.PARTICLE:
        return _particle_after_object(hit, context)
    if entry.need is Need.VERB:
        before = _before(words, hit.start, 1)
        after = words[hit.end] if hit.end < len(words) else None
        noun_like = bool(before) and is_word(before[0], NOUN_BEFORE)
        elsewhere = after is not None and is_word(after, NOUN_AFTER | OTHER_OBJECTS)
        return not (noun_like or elsewhere)
    return True


def _particle_after_object(hit: Hit, context: Context) -> bool:
    """ "ik maak ze af", "ik schiet alle homo's dood": the object, then the particle."""
    words, clause = context.words, context.words[hit.start].token.clause
    has_object = False
    for pos in range(hit.end, min(len(words), hit.end + NEGATION_WINDOW)):
        word = words[pos]
        if word.token.clause != clause:
            return False
        if has_object and is_word(word, hit.entry.particles):
            return True
        has_object = has_object or pos in context.group_starts or is_word(word, OBJECT_PRONOUNS)
    return False


def _negator(word: Word) -> str | None:
    if is_word(word, NEGATORS_EN) or word.token.text.endswith(NEGATOR_SUFFIX):
        return "en"
    return "nl" if is_word(word, NEGATORS_NL) else None


def _in_scope(words: list[Word], first: int, last: int) -> bool:
    """``last`` within reach of ``first``: same clause, close, and no comma between."""
    return 0 < last - first <= NEGATION_WINDOW and all(
        words[p].token.glued for p in range(first + 1, last + 1)
    )


def negated(hits: list[Hit], words: list[Word], questions: frozenset[int]) -> set[int]:
    """Indexes of the predicate hits a negator cancels (or, if positive, turns hostile).

    A negator reaches the next predicate after it; a Dutch one with none after it reaches back
    to the last one ("ik haat ze niet"). A negator inside a phrase belongs to the phrase
    ("horen hier niet"), and "aren't/isn't" opening a question asks, it does not deny."""
    preds = sorted((h.start, i) for i, h in enumerate(hits) if h.entry.role in _PREDICATES)
    starts = [s for s, _ in preds]
    inside = {p for h in hits if h.entry.role is not Role.GROUP for p in range(h.start, h.end)}
    found: set[int] = set()
    for pos, word in enumerate(words):
        language = _negator(word)
        if language is None or pos in inside:
            continue
        clause = word.token.clause
        opens = pos == 0 or words[pos - 1].token.clause != clause
        if language == "en" and opens and clause in questions:
            continue
        after = bisect_right(starts, pos)
        if after < len(preds) and _in_scope(words, pos, starts[after]):
            found.update(_starting(preds, starts, starts[after]))
            continue
        back = bisect_left(starts, pos) - 1
        if language == "nl" and back >= 0:
            start, i = preds[back]
            if hits[i].end <= pos and _in_scope(words, hits[i].end - 1, pos):
                found.update(_starting(preds, starts, start))
    return found


def _starting(preds: list[tuple[int, int]], starts: list[int], start: int) -> list[int]:
    return [i for _, i in preds[bisect_left(starts, start) : bisect_right(starts, start)]]


def _aimed(entry: Entry, groups: tuple[str, ...]) -> dict[str, float]:
    scores: dict[str, float] = {}
    for group in groups:
        scores.update(entry.aimed)
        scores["hate_speech"] = entry.strength
        scores[group] = max(scores.get(group, 0.0), entry.strength)
    return scores


def _hit_scores(
    hit: Hit, cancelled: bool, groups: tuple[str, ...], group_at: Mapping[int, str]
) -> Mapping[str, float]:
    entry = hit.entry
    if entry.role is Role.TERM:
        return entry.alone
    if entry.role is Role.HOSTILE and not cancelled:
        return {**entry.alone, **_aimed(entry, groups)}
    if entry.role is Role.POSITIVE and cancelled:
        return _aimed(entry, groups)
    if entry.role is Role.CURSE and hit.end in group_at:
        return _aimed(entry, (group_at[hit.end],))
    return {}


def judge(
    hits: list[Hit], words: list[Word], questions: frozenset[int]
) -> Iterator[tuple[Hit, Mapping[str, float]]]:
    """Each hit with what it scores in its clause."""
    cancelled = negated(hits, words, questions)
    group_at = {h.start: h.entry.group for h in hits if is_group(h.entry) and h.entry.group}
    with_pronoun = {w.token.clause for w in words if is_word(w, PRONOUNS)}
    by_clause: dict[int, list[int]] = {}
    for i, hit in enumerate(hits):
        by_clause.setdefault(words[hit.start].token.clause, []).append(i)
    carried: tuple[str, ...] = ()
    for clause in sorted(by_clause):
        indexes = by_clause[clause]
        named = (hits[i].entry.group for i in indexes if is_group(hits[i].entry))
        groups = tuple(dict.fromkeys(g for g in named if g))
        if groups:
            carried = groups
        elif clause in with_pronoun:
            groups = carried
        for i in indexes:
            yield hits[i], _hit_scores(hits[i], i in cancelled, groups, group_at)


def counter_speech(words: list[Word]) -> bool:
    """Talk about what was said, and a word condemning it ("racist", "not okay"), outside
    quotes."""
    plain = [w for w in words if not w.token.quoted]
    condemned = any(is_word(w, CONDEMNATION) for w in plain) or any(
        is_word(w, APPROVAL) and _negator(before) is not None
        for w, before in zip(plain[1:], plain, strict=False)
    )
    return condemned and any(is_word(w, REPORTING) for w in plain)


def quoted(hit: Hit, words: list[Word]) -> bool:
    return all(words[p].token.quoted for p in range(hit.start, hit.end))


def cap(hit: Hit, words: list[Word], countered: bool, mixed: bool) -> float:
    """The most a hit may score: mild under counter-speech or in a quote amid other text."""
    return MILD if countered or (mixed and quoted(hit, words)) else 1.0
