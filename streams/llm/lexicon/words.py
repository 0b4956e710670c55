"""Function words the scorer reads context from: negation, pronouns, copulas, modals, and the
cues of counter-speech. Dutch and English side by side; all lower-case and accent-free."""

from __future__ import annotations

from typing import Final

#: English negators negate the predicate after them ("don't hate", "are not disgusting").
NEGATORS_EN: Final = frozenset({
    "not", "no", "never", "nobody", "none", "neither", "nor", "cannot", "dont", "doesnt",
    "didnt", "isnt", "arent", "wasnt", "werent", "wont", "cant", "couldnt", "shouldnt",
    "wouldnt", "aint", "mustnt", "havent", "hasnt",
})  # fmt: skip
#: Any word ending so is an English negator too ("don't", "shouldn't").
NEGATOR_SUFFIX: Final = "n't"
#: Dutch negators may also follow the predicate: "ik haat geen vrouwen", "ik haat ze niet".
NEGATORS_NL: Final = frozenset({
    "niet", "geen", "nooit", "niets", "niks", "nergens", "niemand", "noch",
})  # fmt: skip

#: A pronoun carries the group named in an earlier clause: "I met some Jews; they are vile".
PRONOUNS: Final = frozenset({
    "they", "them", "their", "those", "these", "they're", "theyre",
    "ze", "zij", "hen", "hun", "die", "deze",
})  # fmt: skip

#: Before a noun or adjective that only hurts as what someone *is* ("they are animals").
COPULAS: Final = frozenset({
    "are", "is", "was", "were", "be", "been", "being", "like", "as", "they're", "theyre",
    "zijn", "waren", "ben", "bent", "worden", "wordt", "blijven", "net", "als",
    "zoals", "lijken", "find", "consider", "vind", "vindt", "vinden",
})  # fmt: skip
COPULA_SUFFIX: Final = "'re"

#: Make a death or a participle a wish rather than a report ("must die", "moeten dood").
MODALS: Final = frozenset({
    "should", "must", "need", "needs", "ought", "deserve", "deserves", "hope", "wish", "want",
    "wants", "go", "gotta", "let", "lets", "let's",
    "moet", "moeten", "mag", "mogen", "zou", "zouden", "verdient", "verdienen", "dienen",
    "wil", "willen", "hoop", "hopen", "wens",
})  # fmt: skip
BE: Final = frozenset({"be"})
#: The object between a Dutch separable verb and its particle: "ik maak ze af".
OBJECT_PRONOUNS: Final = frozenset({"ze", "hen", "jullie", "je", "jou", "die", "them"})
#: Make a harm a threat: a modal, or the future ("I will hurt", "ik ga ... pijn doen").
INTENT: Final = MODALS | frozenset({
    "will", "shall", "i'll", "we'll", "going", "gonna", "zal", "zullen", "ga", "gaan", "gaat",
})  # fmt: skip

#: A subject that is not the group: "it's stupid that women ...", "dat is walgelijk".
OTHER_SUBJECTS: Final = frozenset({
    "it", "that", "this", "it's", "its", "that's", "thats", "het", "dat", "dit", "wat", "'t",
})  # fmt: skip
#: "hate" as a noun, not a verb: "the hate against", "haat tegen", "hate speech".
NOUN_BEFORE: Final = frozenset({
    "the", "this", "that", "such", "so", "much", "more", "less", "no", "any", "of", "spread",
    "spreading", "anti", "our", "their", "your", "my", "his", "her", "online", "for",
    "de", "het", "die", "deze", "dat", "veel", "meer", "minder", "geen", "zoveel", "tegen",
})  # fmt: skip
NOUN_AFTER: Final = frozenset({
    "against", "towards", "toward", "speech", "crime", "crimes", "group", "groups", "mail",
    "tegen", "jegens", "richting", "zaaien",
})  # fmt: skip
#: The verb's object is something else: "I hate it when", "ik haat het als".
OTHER_OBJECTS: Final = frozenset({
    "it", "that", "this", "how", "when", "seeing", "to", "being", "het", "dat", "als",
    "wanneer", "hoe", "om",
})  # fmt: skip

#: Start a new clause: what follows may turn back what came before.
CLAUSE_WORDS: Final = frozenset({
    "but", "however", "although", "though", "whereas", "echter", "hoewel", "terwijl",
})  # fmt: skip
#: ... but not as "nothing but", "all but" (only, almost).
NOT_CLAUSE_AFTER: Final = frozenset({"nothing", "anything", "everything", "all", "none"})
#: "maar" is as often "just" ("het zijn maar ...") as "but": it starts a clause after a comma.
COMMA_CLAUSE_WORDS: Final = frozenset({"maar"})

#: Counter-speech talks *about* what was said, and condemns it: both cues together lower the
#: scores of a post ("saying that ... is racist"), either alone does not.
REPORTING: Final = frozenset({
    "say", "says", "said", "saying", "claim", "claims", "claimed", "claiming", "call", "calls",
    "calling", "tweet", "tweets", "tweeted", "post", "posted", "wrote", "write", "writes",
    "words", "statement", "statements", "comment", "comments", "quote", "quoted", "slogan",
    "slogans", "chant", "chanted", "talk", "talking", "tell", "telling", "told", "spread",
    "spreading", "repeat", "repeating", "rhetoric", "language", "zeggen", "zegt", "zeg", "zei",
    "zeiden", "gezegd", "beweren", "beweert", "beweerde", "roepen", "roept", "riep", "noemen",
    "noemt", "noemde",
    "schrijven", "schrijft", "schreef", "tweette", "uitspraak", "uitspraken", "opmerking",
    "opmerkingen", "leus", "leuzen", "praten", "vertellen", "verspreiden", "herhalen",
    "retoriek", "taal",
})  # fmt: skip
CONDEMNATION: Final = frozenset({
    "wrong", "unacceptable", "hateful", "hatred", "bigoted", "bigot", "bigots", "bigotry",
    "racist", "racists", "racism", "sexist", "sexism", "misogynist", "misogynistic",
    "misogyny", "homophobic", "homophobia", "transphobic", "transphobia", "antisemitic",
    "antisemitism", "islamophobic", "islamophobia", "ableist", "xenophobic", "discriminatory",
    "discrimination", "offensive", "shameful", "disgraceful", "ashamed", "appalling", "stop",
    "prejudice", "prejudiced", "intolerant", "intolerance", "hurtful", "harmful", "unfair",
    "inexcusable", "dehumanising", "dehumanizing", "slur", "slurs", "stereotype",
    "stereotypes", "nonsense", "untrue",
    "fout", "onacceptabel", "racistisch", "racistische", "racisme", "seksistisch",
    "seksisme", "homofoob", "homofobe", "homofobie", "transfoob", "transfobie",
    "antisemitisch", "antisemitisme", "islamofoob", "islamofobie", "discriminerend",
    "discriminatie", "haatdragend", "haatzaaiend", "haatzaaien", "kwetsend", "beledigend",
    "schandalig", "vooroordeel", "vooroordelen", "bevooroordeeld", "schadelijk",
    "onterecht", "onzin", "stereotypen", "scheldwoord", "scheldwoorden",
    "ontmenselijkend", "onwaar",
})  # fmt: skip

#: Condemn when negated: "is not okay", "niet oke", together with a reporting word.
APPROVAL: Final = frozenset({
    "okay", "ok", "acceptable", "right", "fair", "cool", "oke", "acceptabel", "normaal",
    "gepast", "terecht",
})  # fmt: skip

#: Small words a run-together text is cut into besides the lexicon's own ("ihatewomen").
JOINERS: Final = frozenset({
    "i", "a", "all", "the", "are", "is", "so", "just", "really", "those", "these", "they",
    "them", "should", "must", "be", "to", "of", "we", "you", "and", "ik", "zijn", "alle",
    "die", "de", "het", "een", "zo", "echt", "gewoon", "moeten", "wij", "ze", "zij", "hen",
    "ben", "en",
})  # fmt: skip

#: Words no spelling variant is guessed for: they are short, common, and carry no meaning.
FUNCTION_WORDS: Final = (
    NEGATORS_EN
    | NEGATORS_NL
    | PRONOUNS
    | COPULAS
    | INTENT
    | BE
    | OBJECT_PRONOUNS
    | OTHER_SUBJECTS
    | NOUN_BEFORE
    | NOUN_AFTER
    | OTHER_OBJECTS
    | CLAUSE_WORDS
    | COMMA_CLAUSE_WORDS
    | JOINERS
)
