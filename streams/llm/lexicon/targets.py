"""Names of protected groups, Dutch and English, and the category hate against each belongs to.

The same mapping as the evaluation's (streams/evaluation/mapping.py): women -> sexism, gay and
trans people -> homophobia, Black people and immigrants -> racism, Muslims -> islamophobia,
Jews -> antisemitism, disabled people -> ableism. A group's name is neutral on its own: it
scores only with a hostile predicate in the same clause. Mostly plural forms, the way groups are
talked about; singular forms only where the word names the group and nothing else. "black" and
"disabled" alone are too common, so they count only with a noun ("black people").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from streams.llm.lexicon.entries import Entry, group

_PEOPLE: Final = "(people|persons|folk|folks|men|women|guys)"

_NAMES: Final[Mapping[str, tuple[str, ...]]] = {
    "sexism": (
        "women", "females", "girls",
        "vrouwen", "vrouwtjes", "meiden", "meisjes",
        # Incel words for women name the group as they insult it.
        "femoid(s)", "foid(s)",
    ),
    "homophobia": (
        "gay(s)", "lesbian(s)", "homosexual(s)", "homosexuality", "bisexual(s)", "queers",
        "lgbt", "lgbtq", "lgbtqia", "trans", "transgender(s)", "transsexual(s)",
        "transwomen", "transmen", "trans (women|men|people|folk|persons)",
        "gay (men|women|people|folk|persons)", "lesbian women",
        "homo", "homo's", "homos", "homoseksueel", "homoseksuele", "homoseksuelen",
        "homoseksualiteit", "lesbienne(s)", "lesbische", "biseksuelen", "transgenders",
        "transpersonen", "transvrouwen", "transmannen", "lhbt", "lhbti", "lhbtiq",
        "trans (vrouwen|mannen|personen|mensen)", "lesbische vrouwen", "homoseksuele mannen",
    ),
    "racism": (
        f"black {_PEOPLE}", "blacks", "people of colo(u)r", "immigrant(s)", "migrant(s)",
        "refugee(s)", "asylum seeker(s)", "foreigner(s)", "illegals", "arab(s)", "african(s)",
        "mexicans", "gypsy", "gypsies", "roma",
        "zwarten", "(zwarte|donkere|gekleurde) (mensen|personen|mannen|vrouwen|jongeren)",
        "mensen (van kleur|met een donkere huidskleur)", "immigrant(en)", "migrant(en)",
        "vluchteling(en)", "asielzoeker(s)", "buitenlander(s)", "allochto(o)n(en)",
        "nieuwkomers", "statushouders", "marokkaan", "marokkanen", "turk", "turken",
        "surinamer(s)", "antillianen", "arabier(en)", "afrikaan", "afrikanen", "zigeuner(s)",
    ),
    "islamophobia": (
        "muslim(s)", "islam", "mohammedans",
        "moslim(s)", "moslima's", "islamieten", "muzelmannen",
    ),
    "antisemitism": (
        "jew(s)", "jewish", "jewry",
        "jood", "joden", "joods", "joodse",
    ),
    "ableism": (
        f"disabled {_PEOPLE}", "the disabled", "people with (a )disabilit(y|ies)",
        "handicapped", "autistic people", "autist(s)", "autistics", "wheelchair users",
        "mentally disabled",
        "gehandicapt(en)", "gehandicapte", "invalide(n)", "autist(en)", "rolstoelgebruikers",
        "mensen met een (verstandelijke )(beperking|handicap)", "mensen met autisme",
    ),
}  # fmt: skip

GROUPS: Final[Mapping[str, Entry]] = {
    name: group(category) for category, names in _NAMES.items() for name in names
}
