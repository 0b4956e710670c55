"""Hostile predicates, Dutch and English: what is said about a group that makes it hate.

Each kind scores hate_speech and the group's category when aimed at a group (named in the same
clause, or referred back to by a pronoun), plus the categories of its kind. Negation cancels a
hostile predicate ("I don't hate", "niet walgelijk"); a positive one is hostile only when
negated ("not human", "horen hier niet", "don't deserve to live"). Words that are ambiguous out
of context carry a :class:`Need`: an animal is dehumanizing after a copula ("they are
animals"), a participle a threat after "be" ("should be killed", not "were killed").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from streams.llm.lexicon.entries import (
    CLEAR,
    EXPLICIT,
    MILD,
    Entry,
    Need,
    curse,
    hostile,
    positive,
)


def emotion(need: Need = Need.NONE) -> Entry:
    return hostile(CLEAR, need, toxic=MILD)


def attribute(need: Need = Need.NONE) -> Entry:
    return hostile(CLEAR, need, insult=MILD, toxic=MILD)


def dehumanizing(
    strength: float = EXPLICIT, need: Need = Need.NONE, alone: Mapping[str, float] | None = None
) -> Entry:
    return hostile(strength, need, alone, dehumanization=strength, toxic=CLEAR)


def threat(
    need: Need = Need.NONE,
    alone: Mapping[str, float] | None = None,
    particles: tuple[str, ...] = (),
) -> Entry:
    return hostile(EXPLICIT, need, alone, particles, threat=EXPLICIT, toxic=EXPLICIT)


def exclusion() -> Entry:
    return hostile(CLEAR, toxic=MILD)


def profanity() -> Entry:
    return hostile(CLEAR, toxic=CLEAR, insult=MILD)


_C, _M, _B, _V = Need.COPULA, Need.MODAL, Need.BE, Need.VERB

_EMOTIONS: Final = {
    "hate": emotion(_V), "hates": emotion(_V), "despise(s)": emotion(_V),
    "loathe(s)": emotion(_V), "detest(s)": emotion(_V), "abhor(s)": emotion(_V),
    "disgust(s) me": emotion(), "make(s) me sick": emotion(),
    "disgusted by": emotion(), "sicken(s) me": emotion(), "repulse(s) me": emotion(),
    "haat": emotion(_V), "haten": emotion(_V), "verafschuw(|t|en)": emotion(_V),
    "minacht(|en)": emotion(_V), "walg(|t|en) van": emotion(), "kots op": emotion(),
    "hekel aan": emotion(), "afkeer van": emotion(), "gruwel van": emotion(),
    "(maakt|maken) me (ziek|misselijk)": emotion(), "word(|t|en) (ziek|misselijk) van": emotion(),
}  # fmt: skip

_ATTRIBUTES: Final = {
    **dict.fromkeys((
        "disgusting", "revolting", "repulsive", "repugnant", "vile", "filthy", "dirty",
        "gross", "worthless", "useless", "pathetic", "stupid", "dumb", "idiotic", "brainless",
        "inferior", "primitive", "evil", "wicked", "lazy", "ugly", "hideous", "degenerate(s)",
        "perverted", "unnatural", "mentally ill", "sick in the head", "abominations",
        "a waste of space", "despicable", "contemptible", "loathsome", "abhorrent", "nasty",
        "repellent", "detestable", "barbaric", "backward(s)", "uncivilised", "uncivilized",
        "untrustworthy", "dishonest", "greedy", "sneaky", "cowardly", "ignorant", "arrogant",
        "parasitic", "incompetent", "pieces of shit",
        "walgelijk(e)", "weerzinwekkend(e)", "smerig(e)", "vies", "vieze", "vuil(e)", "goor",
        "gore", "waardeloos", "waardeloze", "nutteloos", "nutteloze", "zielig(e)", "dom",
        "domme", "stom", "stomme", "achterlijk(e)", "minderwaardig(e)", "primitief",
        "primitieve", "lui", "luie", "lelijk(e)", "kwaadaardig(e)", "abnormaal", "abnormale",
        "onnatuurlijk(e)", "pervers(e)", "gedegenereerd(e)", "geestesziek(e)",
        "onbetrouwbaar", "onbetrouwbare", "verachtelijk(e)", "verwerpelijk(e)", "laf", "laffe",
        "gierig(e)", "hebzuchtig(e)", "achterbaks(e)", "onwetend(e)", "inferieur(e)",
        "barbaars", "barbaarse", "onbeschaafd(e)", "schijnheilig(e)", "misselijkmakend(e)",
        "afstotelijk(e)", "afschuwelijk(e)", "weerzinwekkend(e)", "onnozel(e)",
    ), attribute()),
    # Nouns for people that only accuse when the group is what they are said to be.
    **dict.fromkeys((
        "criminals", "rapists", "terrorists", "thieves", "liars", "paedophiles", "pedophiles",
        "perverts", "predators", "freaks", "idiots", "morons",
        "criminelen", "verkrachters", "terroristen", "dieven", "leugenaars", "pedofielen",
        "viezeriken", "idioten", "the worst", "an abomination", "een last", "het ergste",
        "shit", "stront",
    ), attribute(_C)),
    # Adjectives said of situations as often as of people: only predicative ("they are
    # violent") or attributive to the group ("violent immigrants").
    **dict.fromkeys((
        "violent", "aggressive", "hysterical", "irrational", "weak", "crazy", "insane",
        "gewelddadig(e)", "agressief", "agressieve", "hysterisch(e)", "zwak", "zwakke", "gek",
        "gekke", "ziek", "zieke", "egoistisch(e)",
    ), attribute(Need.PREDICATIVE)),
}  # fmt: skip

_DEHUMANIZING: Final = {
    "vermin": dehumanizing(alone={"dehumanization": EXPLICIT, "toxic": CLEAR}),
    "parasites": dehumanizing(alone={"dehumanization": CLEAR}),
    "cockroaches": dehumanizing(alone={"dehumanization": CLEAR}),
    "subhuman(s)": dehumanizing(alone={"dehumanization": EXPLICIT, "hate_speech": CLEAR}),
    "untermenschen": dehumanizing(alone={"dehumanization": EXPLICIT, "extremism": EXPLICIT}),
    "ongedierte": dehumanizing(alone={"dehumanization": EXPLICIT, "toxic": CLEAR}),
    "parasieten": dehumanizing(alone={"dehumanization": CLEAR}),
    "kakkerlakken": dehumanizing(alone={"dehumanization": CLEAR}),
    **dict.fromkeys((
        "leeches", "maggots", "savages", "an infestation", "ondermensen", "bloedzuigers",
    ), dehumanizing()),
    **dict.fromkeys((
        "rats", "animals", "beasts", "pigs", "apes", "monkeys", "insects", "lice", "dogs",
        "barbarians", "pests", "a plague", "a disease", "a cancer", "a virus", "a pest",
        "ratten", "beesten", "dieren", "varkens", "apen", "insecten", "luizen", "maden",
        "honden", "barbaren", "een plaag", "een ziekte", "een kanker(gezwel)", "een virus",
        "een pest",
    ), dehumanizing(need=_C)),
    **dict.fromkeys((
        "scum", "filth", "scumbags", "tuig", "uitschot", "gespuis", "schorem", "afschaum",
    ), dehumanizing(CLEAR)),
    **dict.fromkeys(("trash", "garbage", "afval", "vuilnis"), dehumanizing(CLEAR, _C)),
}  # fmt: skip

_THREATS: Final = {
    "kill yourself": threat(alone={"threat": EXPLICIT, "toxic": EXPLICIT}),
    "kys": threat(alone={"threat": EXPLICIT, "toxic": EXPLICIT}),
    "i will kill you": threat(alone={"threat": EXPLICIT, "toxic": EXPLICIT}),
    "should be hanged": threat(alone={"threat": EXPLICIT, "extremism": CLEAR}),
    "deserves a bullet": threat(alone={"threat": EXPLICIT, "toxic": EXPLICIT}),
    "death to": threat(alone={"threat": CLEAR, "extremism": CLEAR}),
    "ik maak je af": threat(alone={"threat": EXPLICIT, "toxic": EXPLICIT}),
    "je gaat eraan": threat(alone={"threat": CLEAR, "toxic": CLEAR}),
    "tegen de muur": threat(alone={"threat": CLEAR, "extremism": MILD}),
    "moet(en) opgehangen worden": threat(alone={"threat": EXPLICIT, "extremism": CLEAR}),
    "verdient een kogel": threat(alone={"threat": EXPLICIT, "toxic": EXPLICIT}),
    "dood aan": threat(alone={"threat": CLEAR, "extremism": CLEAR}),
    **dict.fromkeys((
        "kill", "murder", "shoot", "lynch", "burn", "gas", "exterminate", "slaughter",
        "butcher", "stab", "behead", "massacre", "wipe out", "get rid of",
        "beat up", "deserve(s) to die", "deserve(s) death", "torture", "rape", "strangle",
        "hunt down", "make them suffer", "rot in hell", "burn in hell",
        "vermoorden", "doodmaken", "doodschieten", "neerschieten", "ophangen", "opknopen",
        "lynchen", "verbranden", "vergassen", "uitroeien", "uitmoorden", "afslachten",
        "executeren", "onthoofden", "in elkaar slaan", "verdien(t|en) de dood",
        "de dood verdienen", "martelen", "verkrachten", "wurgen", "neersteken",
        "doodsteken",
    ), threat()),
    # Threats that need intent to be threats: "I will hurt", not "policies that hurt".
    **dict.fromkeys(("hurt", "harm", "punish", "pijn doen", "afmaken", "kapotmaken",
                     "aanpakken"), threat(Need.INTENT)),
    # Dutch separable verbs, split in a main clause: "ik schiet ze allemaal dood".
    **{stem: threat(Need.PARTICLE, particles=particles) for stem, particles in (
        ("(maak|maken)", ("af", "dood", "kapot")),
        ("(schiet|schieten)", ("dood", "neer")),
        ("(sla|slaan)", ("dood", "elkaar")),
        ("(steek|steken)", ("dood", "neer")),
        ("(hang|hangen)", ("op",)),
        ("(knal|knallen)", ("af", "neer", "dood")),
        ("(roei|roeien)", ("uit",)),
        ("(slacht|slachten)", ("af",)),
    )},
    "(ik|we|wij) (vermoord|vergas|verbrand|martel|wurg)": threat(),
    **dict.fromkeys((
        "die", "dead", "suffer", "dood", "sterven", "lijden", "vermoord", "doodgeschoten",
        "neergeschoten", "opgehangen", "opgeknoopt", "gelyncht", "verbrand", "vergast",
        "uitgeroeid", "afgeslacht", "geexecuteerd", "onthoofd",
    ), threat(_M)),
    **dict.fromkeys((
        "killed", "murdered", "shot", "hanged", "lynched", "burned", "burnt", "gassed",
        "exterminated", "slaughtered", "butchered", "executed", "stabbed", "beheaded",
        "wiped out", "put down", "eradicated", "eliminated", "tortured", "raped", "beaten",
        "drowned", "strangled", "sterilised", "sterilized", "castrated", "hunted down",
        "gunned down", "wiped off the face of the earth",
    ), threat(_B)),
}  # fmt: skip

_EXCLUSIONS: Final = {
    **dict.fromkeys((
        "send them back", "deport them", "have no place", "out of our country",
        "oprotten", "opdonderen", "optiefen", "horen hier niet", "hoort hier niet",
        "het land uit", "stuur ze terug",
    ), exclusion()),
    **dict.fromkeys(("deported", "banned", "removed", "kicked out", "thrown out", "expelled",
                     "locked up", "sent back"), hostile(CLEAR, _B, toxic=MILD)),
    **dict.fromkeys(("fuck", "fuck off", "fuk", "go to hell", "screw",
                     "kanker op", "tyfus op", "rot op", "donder op", "tief op", "flikker op",
                     "fuck op", "de (pleuris|tering|tyfus|kanker|klere|kolere|pest) krijgen",
                     "krijg(|en) de (pleuris|tering|tyfus|kanker|klere|kolere|pest)"),
                    profanity()),
}  # fmt: skip

_POSITIVES: Final = {
    **dict.fromkeys(("human", "humans", "mensen", "mens", "menselijk"),
                    positive(CLEAR, _C, dehumanization=CLEAR)),
    **dict.fromkeys((
        "welcome", "belong", "exist", "deserve(s) to live", "deserve(s) rights",
        "deserve(s) to exist", "deserve(s) respect", "welkom", "bestaan", "te vertrouwen",
        "gewenst",
        "verdien(t|en) het om te leven", "verdien(t|en) rechten", "verdien(t|en) te leven",
    ), positive(CLEAR)),
    **dict.fromkeys((
        "equal", "smart", "intelligent", "clever", "capable", "competent", "trustworthy",
        "worth anything", "worthy", "civilised", "civilized", "gelijkwaardig", "slim",
        "slimme", "intelligent(e)", "capabel", "bekwaam", "betrouwbaar", "waard",
        "beschaafd(e)", "valuable", "useful", "wanted", "fit", "sane", "nuttig(e)",
        "waardevol(le)", "normaal", "normale", "normal",
    ), positive(CLEAR, _C)),
    **dict.fromkeys(("allowed", "trusted", "tolerated", "accepted"), positive(CLEAR, _B)),
    **dict.fromkeys(("trust", "stand", "bear", "like", "respect", "vertrouw", "uitstaan",
                     "luchten", "verdragen", "respecteer", "respecteren"), positive(CLEAR, _V)),
    **dict.fromkeys(("love", "hou van", "houd van", "houden van"), positive(MILD, _V)),
}  # fmt: skip

PREDICATES: Final[Mapping[str, Entry]] = {
    **_EMOTIONS,
    **_ATTRIBUTES,
    **_DEHUMANIZING,
    **_THREATS,
    **_EXCLUSIONS,
    **_POSITIVES,
}

#: Curses put before a group's name make it a slur: "kankerjoden", "kut moslims".
CURSES: Final[Mapping[str, Entry]] = {
    **dict.fromkeys(
        ("kanker", "kut", "tyfus", "tering", "klere", "kolere", "klote"), curse(EXPLICIT)
    ),
    **dict.fromkeys(("fucking", "fuckin", "effing"), curse(CLEAR)),
}
