"""Spelling tricks the lexicon undoes before matching, and what they cost on hostile input."""

from __future__ import annotations

import time

import pytest

from streams.llm.lexicon import score_text
from streams.llm.lexicon.spelling import deletions, segment, spellings, swaps
from streams.llm.lexicon.text import join_spaced_letters, quoted_spans, tokenize

FLAG = 0.5


def hateful(text: str) -> bool:
    return score_text(text)["hate_speech"] >= FLAG


@pytest.mark.parametrize(
    "text",
    [
        "I h4t3 j3ws",  # leetspeak
        "mu$l1m$ are d1$gust1ng",  # "1" as i, "$" as s
        "Gay people are wor7h1e55",
        "vr0uwen zijn w@lgelijk",
        "k!ll the immigrants",  # "!" as i
        "I haaaaate lesbians",  # letters repeated
        "jooooden moeten dooooood",
        "I h a t e women",  # letters spaced out
        "h.a.t.e all refugees",
        "Ik h-a-a-t moslims",
        "I hate mus lims",  # a word broken in two
        "Refugees are dis gusting",
        "ihatewomen",  # words run together
        "Jewsare vermin",
        "All immigrants shoulddie",
        "ikhaatjoden",
        "I hate muslms",  # a letter left out of a longer word
        "Women are disgustng",
        "I hate wmoen",  # two letters swapped
        "Gay people are disugsting",
        "GAY PEOPLE ARE DISGUSTING",
        "Ｊｅｗｓ ａｒｅ ｖｅｒｍｉｎ",  # full-width letters
    ],
)
def test_spelling_variants_still_match(text: str) -> None:
    assert hateful(text), text


@pytest.mark.parametrize(
    "text",
    [
        "women in hats",  # "hats" is no misspelling of "hates"
        "Kyste operatie geslaagd",
        "14888",
        "whatever women want",  # "hate" inside another word
        "The Jewish Museum opens at 10.",
        "a b c d e f g",
        "Call me at 555-0134 about the refugee fund.",
    ],
)
def test_variants_are_not_guessed_into_other_words(text: str) -> None:
    assert not hateful(text), text


def test_spellings_of_a_word() -> None:
    assert list(spellings("h4t3")) == ["h4t3", "hate", "hate"]
    assert "kill" in list(spellings("k1ll")) and "kiii" not in list(spellings("k1ll"))
    assert {"hate", "haate"} <= set(spellings("haaaate"))
    assert list(spellings("homo's")) == ["homo's", "homo"]
    assert list(spellings("2024")) == ["2024"]


def test_left_out_and_swapped_letters_keep_the_first_letter() -> None:
    assert set(deletions("muslims")) == {"mslims", "mulims", "musims", "muslms", "muslis"}
    assert "uslims" not in set(deletions("muslims"))
    assert list(deletions("hates")) == []  # too short: "hats" is a word of its own
    assert set(swaps("gays")) == {"gyas", "gasy"}


def test_segment_cuts_into_the_fewest_known_words() -> None:
    known = frozenset({"i", "hate", "women", "wo", "men"})
    lengths = tuple(sorted({len(w) for w in known}, reverse=True))
    assert segment("ihatewomen", known, lengths) == ["i", "hate", "women"]
    assert segment("whatever", known, lengths) is None


def test_spaced_letters_are_joined_and_words_are_left_alone() -> None:
    assert join_spaced_letters("i h a t e them") == "ihate them"
    assert join_spaced_letters("h.a.t.e. it") == "hate. it"
    assert join_spaced_letters("a b") == "a b"
    assert join_spaced_letters("plan B is ok") == "plan B is ok"


def test_quotes_and_apostrophes() -> None:
    text = "he said 'don't' and \"no\" 's avonds"
    spans = quoted_spans(text)
    assert [text[a + 1 : b] for a, b in spans] == ["don't", "no"]
    words = tokenize(text).tokens
    assert [(t.text, t.quoted) for t in words][2:4] == [("don't", True), ("and", False)]


def test_clauses_and_questions() -> None:
    tokens = tokenize("women? fine. but they, well")
    assert [t.clause for t in tokens.tokens] == [0, 1, 2, 2, 2]
    assert tokens.questions == frozenset({0})
    assert [t.glued for t in tokens.tokens] == [False, False, False, True, False]


@pytest.mark.parametrize(
    "unit",
    [
        "a ", "h.a.t.e.", "I hate women ", "not ", "ihatewomenarevermin", "\"'", "a'",
        "h4t3 ", "haaaaaaate ", "kanker ", "moeten dood ", "ik maak ze af ", "(((",
        "women, ", "women. they are vile. ", "x" * 45 + " ",
    ],
)  # fmt: skip
def test_hostile_input_costs_time_in_proportion_to_its_length(unit: str) -> None:
    def seconds(repeat: int) -> float:
        # The best of three: a shared machine's other work only ever adds time.
        text = unit * repeat
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            score_text(text)
            runs.append(time.perf_counter() - started)
        return min(runs)

    small, large = seconds(2_000), seconds(8_000)
    # Four times the text: about four times the time, never sixteen (quadratic) or worse.
    assert large < 8 * small + 0.05, (unit, small, large)
    assert large < 5.0
