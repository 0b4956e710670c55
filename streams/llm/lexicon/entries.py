"""What a lexicon entry is: its role in a sentence, what it scores, and the context it needs.

Scores are deliberately coarse: 0.3 mild, 0.6 clear, 0.9 explicit. A hostile word scores its
group only when a protected group is named in the same clause (or referred back to by a
pronoun); on its own it scores what its ``alone`` scores say, usually nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Final

MILD: Final = 0.3
CLEAR: Final = 0.6
EXPLICIT: Final = 0.9


class Role(Enum):
    #: A coded term or slur: scores wherever it occurs, negated or not ("geen gelukszoekers").
    TERM = "term"
    #: Names a protected group.
    GROUP = "group"
    #: A hostile predicate ("hate", "disgusting", "should die"): negation cancels it.
    HOSTILE = "hostile"
    #: A predicate that is hostile only when negated ("not human", "don't belong").
    POSITIVE = "positive"
    #: A curse put before a group's name, in Dutch often as one word ("kankerjoden").
    CURSE = "curse"


class Need(Enum):
    """Context a word needs before it counts, where it is ambiguous without it."""

    NONE = "none"
    #: A copula or comparison just before: "they are animals", not "they love animals".
    COPULA = "copula"
    #: A modal or wish in the clause: "must die", "moeten dood", not "died" in a news report.
    MODAL = "modal"
    #: "be" just before: "should be killed", not "were killed".
    BE = "be"
    #: Used as a verb with the group as object: not "the hate against", "hate it when".
    VERB = "verb"
    #: An adjective said of the group: after a copula, or just before the group's name.
    PREDICATIVE = "predicative"
    #: Intent in the clause: a modal or a future ("I will hurt", "ik ga ... pijn doen").
    INTENT = "intent"
    #: One of the entry's particles later in the clause (a Dutch separable verb).
    PARTICLE = "particle"


@dataclass(frozen=True)
class Entry:
    role: Role
    #: Scores it gives wherever it occurs (a TERM always, a HOSTILE word unless negated).
    alone: Mapping[str, float] = field(default_factory=dict)
    #: The category of the protected group it names (GROUP, and TERMs that are slurs).
    group: str | None = None
    #: Score for hate_speech and the group's category when aimed at a group.
    strength: float = 0.0
    #: Further categories scored when aimed at a group (threat, dehumanization, ...).
    aimed: Mapping[str, float] = field(default_factory=dict)
    need: Need = Need.NONE
    #: For Need.PARTICLE: the particles that complete the verb.
    particles: frozenset[str] = frozenset()


def term(group: str | None = None, **scores: float) -> Entry:
    return Entry(Role.TERM, alone=scores, group=group)


def group(category: str) -> Entry:
    return Entry(Role.GROUP, group=category)


def hostile(
    strength: float, need: Need = Need.NONE, alone: Mapping[str, float] | None = None,
    particles: tuple[str, ...] = (), **aimed: float,
) -> Entry:  # fmt: skip
    return Entry(Role.HOSTILE, alone=alone or {}, strength=strength, aimed=aimed, need=need,
                 particles=frozenset(particles))  # fmt: skip


def positive(strength: float, need: Need = Need.NONE, **aimed: float) -> Entry:
    return Entry(Role.POSITIVE, strength=strength, aimed=aimed, need=need)


def curse(strength: float) -> Entry:
    return Entry(Role.CURSE, strength=strength, aimed={"insult": CLEAR, "toxic": CLEAR})
