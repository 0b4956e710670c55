"""The offline lexicon scorer: coded terms score, ordinary political talk does not."""

from __future__ import annotations

import pytest

from streams.categories import CATEGORIES
from streams.llm import lexicon
from streams.llm.lexicon import score_text
from streams.llm.lexicon.text import tokenize
from streams.llm.lexicon.vocabulary import expand


def flagged(text: str) -> dict[str, float]:
    return {c: s for c, s in score_text(text).items() if s}


@pytest.mark.parametrize(
    ("text", "category", "at_least"),
    [
        ("Weer die gelukszoekers aan de grens", "racism", 0.6),
        ("kutmarokkanen", "racism", 0.9),
        ("De omvolking is begonnen", "extremism", 0.9),
        ("Rutte is een landverrader", "insult", 0.6),
        ("VOLKSVERRADERS allemaal", "extremism", 0.6),
        ("die linkse ratten", "dehumanization", 0.9),
        ("wat een wappie", "insult", 0.3),
        ("tokkies op tv", "insult", 0.6),
        ("The globalists run the banks", "antisemitism", 0.6),
        ("Owned by the Rothschilds", "antisemitism", 0.6),
        ("Of course (((they))) voted for it", "antisemitism", 0.9),
        ("Ben je gestoord?", "ableism", 0.6),
        ("mongool", "ableism", 0.9),
        ("islam is geen religie", "islamophobia", 0.9),
        ("Ik maak je af", "threat", 0.9),
        ("they are vermin", "dehumanization", 0.9),
        ("the great replacement is real", "extremism", 0.6),
        ("1488", "extremism", 0.9),
    ],
)
def test_coded_terms_score_their_category(text: str, category: str, at_least: float) -> None:
    assert score_text(text)[category] >= at_least


@pytest.mark.parametrize(
    "text",
    [
        "Het kabinet moet beter luisteren naar de boeren.",
        "I strongly disagree with the minister's housing plan.",
        "Morgen debat in de Tweede Kamer over migratie en asiel.",
        "De PVV wil minder immigratie; GroenLinks wil meer klimaatbeleid.",
        "Ratten in de kelder van het gemeentehuis, de ongediertebestrijding komt morgen.",
        "A traitorous plot in the novel; our sky was grey.",
        "Kyste operatie geslaagd",
        "",
    ],
)
def test_ordinary_posts_score_zero(text: str) -> None:
    assert flagged(text) == {}


def test_matching_ignores_case_accents_spacing_and_zero_width() -> None:
    expected = flagged("gestoord")
    assert flagged("GESTÓÓRD") == expected
    assert flagged("ge\u200bstoord") == expected
    assert flagged("linkse\n\n   ratten") == flagged("linkse ratten")


def test_terms_match_whole_words_only() -> None:
    assert flagged("kysten") == {}
    assert flagged("#kys") != {}
    assert flagged("14888") == {}


def test_optional_parts_match_both_forms() -> None:
    assert flagged("gelukszoeker") == flagged("gelukszoekers")
    assert flagged("go back to your country") == flagged("go back to your own country")


def test_the_strongest_term_wins_per_category() -> None:
    assert score_text("wappie en tokkie")["insult"] == 0.6


def test_scores_cover_every_category_with_coarse_levels() -> None:
    scores = score_text("kutmarokkanen, linkse ratten, ik maak je af")
    assert list(scores) == list(CATEGORIES)
    assert set(scores.values()) <= {0.0, lexicon.MILD, lexicon.CLEAR, lexicon.EXPLICIT}


def test_every_term_names_real_categories() -> None:
    for table in lexicon.TABLES:
        for term, entry in table.items():
            named = {*entry.alone, *entry.aimed} | ({entry.group} if entry.group else set())
            assert named <= set(CATEGORIES), term
            assert term == lexicon.normalize(term), term


def test_every_term_expands_to_words_as_a_text_splits_them() -> None:
    for table in lexicon.TABLES:
        for term in table:
            for words in expand(term):
                assert words, term
                assert [t.text for t in tokenize(" ".join(words)).tokens] == list(words), term


def test_backend_identity() -> None:
    assert lexicon.MODEL == "lexicon-v2"
