"""Coded terms and slurs, Dutch and English: they score wherever they occur, even negated.

Term syntax (for every table of the lexicon): lower-case, accent-free words separated by single
spaces; "(x)" marks an optional part, e.g. "gelukszoeker(s)", and "(x|y)" a choice of parts
("(x|)" an optional choice). Matching is on whole words, after spelling variants are undone
(streams/llm/lexicon/vocabulary.py). A slur names its group too, so "faggots should die" is
aimed at gay people.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from streams.llm.lexicon.entries import CLEAR, EXPLICIT, MILD, Entry, term

TERMS: Final[Mapping[str, Entry]] = {
    # --- Dutch -----------------------------------------------------------------------
    "gelukszoeker(s)": term("racism", racism=CLEAR, hate_speech=CLEAR, toxic=MILD),
    "kutmarokka(a)n(en)": term(
        "racism", racism=EXPLICIT, hate_speech=EXPLICIT, insult=CLEAR, toxic=CLEAR
    ),
    "omvolking": term(extremism=EXPLICIT, islamophobia=CLEAR, racism=CLEAR),
    "omvolkingstheorie": term(extremism=CLEAR),
    "remigratie": term(extremism=CLEAR, racism=MILD),
    "landverrader(s)": term(insult=CLEAR, toxic=MILD, extremism=MILD),
    "volksverrader(s)": term(insult=CLEAR, extremism=CLEAR, toxic=CLEAR),
    "linkse ratten": term(dehumanization=EXPLICIT, insult=CLEAR, toxic=CLEAR),
    "wappie(s)": term(insult=MILD),
    "tokkie(s)": term(insult=CLEAR, toxic=MILD),
    "gestoord(e)": term(ableism=CLEAR, insult=CLEAR),
    "mongool": term("ableism", ableism=EXPLICIT, insult=CLEAR, toxic=CLEAR),
    "mongolen": term("ableism", ableism=EXPLICIT, insult=CLEAR, toxic=CLEAR),
    "debiel(en)": term("ableism", ableism=CLEAR, insult=CLEAR),
    "zwakzinnige(n)": term("ableism", ableism=CLEAR, hate_speech=MILD, insult=CLEAR),
    "spast(en)": term("ableism", ableism=CLEAR, hate_speech=MILD, insult=CLEAR),
    "idioot": term(insult=MILD),
    "idioten": term(insult=MILD),
    "klootzak(ken)": term(insult=CLEAR, toxic=CLEAR),
    "kankerlijer(s)": term(insult=EXPLICIT, toxic=EXPLICIT),
    "tyfuslijer(s)": term(insult=EXPLICIT, toxic=EXPLICIT),
    "hoer(en)": term("sexism", sexism=CLEAR, insult=CLEAR, toxic=CLEAR),
    "slet(ten)": term("sexism", sexism=CLEAR, insult=CLEAR, toxic=CLEAR),
    "wijf": term("sexism", sexism=CLEAR, insult=CLEAR),
    "sloerie(s)": term("sexism", sexism=CLEAR, insult=CLEAR),
    "wijven": term("sexism", sexism=CLEAR, hate_speech=MILD, insult=CLEAR),
    "flikker(s)": term(
        "homophobia", homophobia=EXPLICIT, hate_speech=CLEAR, insult=CLEAR, toxic=CLEAR
    ),
    "mietje(s)": term("homophobia", homophobia=CLEAR, insult=MILD),
    "lesbo('s|s)": term("homophobia", homophobia=CLEAR, hate_speech=CLEAR, insult=CLEAR),
    "nikker(s)": term("racism", racism=EXPLICIT, hate_speech=EXPLICIT, insult=CLEAR, toxic=CLEAR),
    "neger(s)": term("racism", racism=CLEAR, hate_speech=CLEAR),
    "negerin(nen)": term("racism", racism=CLEAR, hate_speech=CLEAR),
    "zwartjes": term("racism", racism=CLEAR, hate_speech=CLEAR, insult=CLEAR),
    "makak(en)": term("racism", racism=EXPLICIT, hate_speech=CLEAR, insult=CLEAR),
    "zandneger(s)": term("racism", racism=EXPLICIT, hate_speech=EXPLICIT, insult=CLEAR),
    "baardaap": term("islamophobia", islamophobia=EXPLICIT, hate_speech=CLEAR, insult=CLEAR),
    "baardapen": term("islamophobia", islamophobia=EXPLICIT, hate_speech=CLEAR, insult=CLEAR),
    "bosneger(s)": term("racism", racism=EXPLICIT, hate_speech=EXPLICIT, insult=CLEAR),
    "roetmop(pen)": term("racism", racism=EXPLICIT, hate_speech=EXPLICIT, insult=CLEAR),
    "zwartjoekel(s)": term("racism", racism=EXPLICIT, hate_speech=EXPLICIT, insult=CLEAR),
    "geitenneuker(s)": term("islamophobia", islamophobia=EXPLICIT, hate_speech=CLEAR, insult=CLEAR),
    "kopvod(den)": term("islamophobia", islamophobia=EXPLICIT, hate_speech=CLEAR, insult=CLEAR),
    "kopvoddentaks": term(islamophobia=EXPLICIT),
    "islam is geen religie": term(islamophobia=EXPLICIT, hate_speech=CLEAR),
    "globalisten": term(antisemitism=CLEAR),
    "ga terug naar je eigen land": term(racism=CLEAR, hate_speech=CLEAR),
    "bloed en bodem": term(extremism=EXPLICIT, racism=CLEAR),
    # --- English ---------------------------------------------------------------------
    "globalist(s)": term(antisemitism=CLEAR),
    "rothschilds": term(antisemitism=CLEAR),
    "holocaust hoax": term(antisemitism=EXPLICIT, extremism=CLEAR),
    "holocaust never happened": term(antisemitism=EXPLICIT, extremism=CLEAR),
    "zionist occupied government": term(antisemitism=EXPLICIT, extremism=CLEAR),
    "great replacement": term(extremism=CLEAR, racism=MILD),
    "white genocide": term(extremism=EXPLICIT, racism=CLEAR),
    "white power": term(extremism=EXPLICIT, racism=CLEAR),
    "heil hitler": term(extremism=EXPLICIT, antisemitism=CLEAR),
    "sieg heil": term(extremism=EXPLICIT, antisemitism=CLEAR),
    "1488": term(extremism=EXPLICIT, antisemitism=CLEAR),
    "blood and soil": term(extremism=EXPLICIT, racism=CLEAR),
    "islam is not a religion": term(islamophobia=EXPLICIT, hate_speech=CLEAR),
    "muzzie(s)": term("islamophobia", islamophobia=EXPLICIT, hate_speech=CLEAR, insult=CLEAR),
    "towelhead(s)": term("islamophobia", islamophobia=EXPLICIT, hate_speech=CLEAR, insult=CLEAR),
    "raghead(s)": term("islamophobia", islamophobia=EXPLICIT, hate_speech=CLEAR, insult=CLEAR),
    "go back to your (own )country": term(racism=CLEAR, hate_speech=CLEAR),
    "nigger(s)": term("racism", racism=EXPLICIT, hate_speech=EXPLICIT, insult=CLEAR, toxic=CLEAR),
    "wetback(s)": term("racism", racism=EXPLICIT, hate_speech=CLEAR, insult=CLEAR),
    "paki(s)": term("racism", racism=EXPLICIT, hate_speech=CLEAR, insult=CLEAR),
    "negro(es)": term("racism", racism=CLEAR, hate_speech=CLEAR),
    "sand nigger(s)": term("racism", racism=EXPLICIT, hate_speech=EXPLICIT, insult=CLEAR),
    "jungle bunn(y|ies)": term("racism", racism=EXPLICIT, hate_speech=EXPLICIT, insult=CLEAR),
    "porch monkey(s)": term("racism", racism=EXPLICIT, hate_speech=EXPLICIT, insult=CLEAR),
    "beaner(s)": term("racism", racism=EXPLICIT, hate_speech=CLEAR, insult=CLEAR),
    "yid(s)": term("antisemitism", antisemitism=EXPLICIT, hate_speech=CLEAR, insult=CLEAR),
    "christ killer(s)": term("antisemitism", antisemitism=EXPLICIT, hate_speech=CLEAR),
    "goat fucker(s)": term("islamophobia", islamophobia=EXPLICIT, hate_speech=CLEAR, insult=CLEAR),
    "kike(s)": term("antisemitism", antisemitism=EXPLICIT, hate_speech=EXPLICIT, insult=CLEAR),
    "feminazi(s)": term(sexism=CLEAR, insult=CLEAR),
    "women belong in the kitchen": term(sexism=EXPLICIT),
    "slut(s)": term("sexism", sexism=CLEAR, insult=CLEAR, toxic=CLEAR),
    "whore(s)": term("sexism", sexism=CLEAR, insult=CLEAR, toxic=CLEAR),
    "groomer(s)": term(homophobia=CLEAR, insult=CLEAR),
    "tranny": term("homophobia", homophobia=EXPLICIT, hate_speech=CLEAR, insult=CLEAR),
    "trannies": term("homophobia", homophobia=EXPLICIT, hate_speech=CLEAR, insult=CLEAR),
    "shemale(s)": term("homophobia", homophobia=EXPLICIT, hate_speech=CLEAR, insult=CLEAR),
    "faggot(s)": term(
        "homophobia", homophobia=EXPLICIT, hate_speech=CLEAR, insult=CLEAR, toxic=CLEAR
    ),
    # Homonyms too (a cigarette, an embankment): mild on their own, still a group's name.
    "fag(s)": term("homophobia", homophobia=CLEAR, hate_speech=MILD, insult=CLEAR),
    "dyke(s)": term("homophobia", homophobia=CLEAR, hate_speech=MILD, insult=CLEAR),
    "poof(s)": term("homophobia", homophobia=CLEAR, hate_speech=CLEAR, insult=CLEAR),
    "poofter(s)": term("homophobia", homophobia=CLEAR, hate_speech=CLEAR, insult=CLEAR),
    "batty boy(s)": term("homophobia", homophobia=CLEAR, hate_speech=CLEAR, insult=CLEAR),
    "retard(s)": term("ableism", ableism=EXPLICIT, insult=CLEAR, toxic=CLEAR),
    "retarded": term(ableism=CLEAR, insult=CLEAR),
    "cripple(s)": term("ableism", ableism=CLEAR, hate_speech=CLEAR, insult=CLEAR),
    "spastic(s)": term("ableism", ableism=CLEAR, insult=CLEAR),
    "spaz": term("ableism", ableism=CLEAR, insult=CLEAR),
    "window licker(s)": term("ableism", ableism=CLEAR, hate_speech=CLEAR, insult=CLEAR),
    "bitch(es)": term("sexism", sexism=CLEAR, insult=CLEAR, toxic=CLEAR),
    "idiot(s)": term(insult=MILD),
    "moron(s)": term(insult=CLEAR),
    "asshole(s)": term(insult=CLEAR, toxic=CLEAR),
    "traitor(s)": term(insult=MILD),
}

#: Patterns that are not words: (((echo))) around a name marks a Jewish target.
SYMBOLS: Final[tuple[tuple[re.Pattern[str], Mapping[str, float]], ...]] = (
    (re.compile(r"\(\(\(\s*[^()\s][^()]{0,60}\)\)\)"), {"antisemitism": EXPLICIT}),
)
