"""The lexicon reads a little context: hostility aimed at a protected group is hate speech
against that group, negation cancels it, and counter-speech cues keep it below the flag."""

from __future__ import annotations

import pytest

from streams.llm.lexicon import score_text

FLAG = 0.5


def flagged(text: str) -> set[str]:
    return {c for c, s in score_text(text).items() if s >= FLAG}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Honestly I despise lesbians.", {"hate_speech", "homophobia"}),
        ("those refugees are pathetic", {"hate_speech", "racism"}),
        ("Wheelchair users are a burden? No: disabled people are worthless.",
         {"hate_speech", "ableism"}),
        ("Jews are nothing but parasites",
         {"hate_speech", "antisemitism", "dehumanization", "toxic"}),
        ("all the muslim men in this town should be shot",
         {"hate_speech", "islamophobia", "threat", "toxic"}),
        ("We will kill every transgender we find", {"hate_speech", "homophobia", "threat",
                                                    "toxic"}),
        ("Die vluchtelingen zijn echt smerig", {"hate_speech", "racism"}),
        ("Ik verafschuw joden", {"hate_speech", "antisemitism"}),
        ("Alle homo's moeten dood", {"hate_speech", "homophobia", "threat", "toxic"}),
        ("Gehandicapten zijn ongedierte", {"hate_speech", "ableism", "dehumanization", "toxic"}),
        ("Ik schiet die moslims allemaal dood", {"hate_speech", "islamophobia", "threat",
                                                 "toxic"}),
        ("vrouwen kunnen de tering krijgen", {"hate_speech", "sexism", "toxic"}),
        ("kankermarokkanen", {"hate_speech", "racism", "insult", "toxic"}),
    ],
)  # fmt: skip
def test_a_hostile_predicate_aimed_at_a_group_is_hate_against_it(
    text: str, expected: set[str]
) -> None:
    assert flagged(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Women deserve equal pay.",
        "Muslims celebrate Eid this week.",
        "I hate Mondays and my commute is disgusting.",  # no group
        "Politicians are scum.",  # a group, but not a protected one
        "Refugees love their pets; our neighbours keep pigs and dogs.",  # no copula
        "Three Jews were killed in the attack, the police said.",  # a report, not a wish
        "The hate against gay people has to stop.",  # hate as a noun
        "I hate it when people mock disabled people.",  # the object is something else
        "It's stupid that women earn less.",  # the subject is something else
        "Violent attacks against immigrants are rising.",  # not said of the group
        "Vrouwenhaat is een probleem.",  # the word for misogyny, not misogyny
        "Ik maak het werk af voor de vrouwen.",  # "af" completes the work, not a threat
        "Jodenvervolging mag nooit vergeten worden.",
    ],
)
def test_groups_and_hostile_words_apart_are_not_hate(text: str) -> None:
    assert "hate_speech" not in flagged(text)


@pytest.mark.parametrize(
    "text",
    [
        "I don't hate gay people.",
        "I do not think Muslims are dirty.",
        "Black people are in no way inferior.",
        "Nobody should say that Jews are vermin.",
        "I would never want to hurt disabled people.",
        "Trans people are not a disease.",
        "Ik haat geen vrouwen.",
        "Ik haat homo's niet.",
        "Moslims zijn helemaal niet walgelijk.",
        "Ik vind gehandicapten niet minderwaardig.",
        "Joden zijn geen ongedierte.",
    ],
)
def test_negation_cancels_a_hostile_predicate(text: str) -> None:
    assert flagged(text) == set()


@pytest.mark.parametrize(
    "text",
    [
        "Muslims don't deserve to live.",
        "Trans people shouldn't exist.",
        "Refugees are not welcome here.",
        "Women are not human.",
        "I can't stand gay people.",
        "Immigranten zijn hier niet welkom.",
        "Ik kan vrouwen niet uitstaan.",
        "Joden zijn geen mensen.",
    ],
)
def test_a_negated_positive_predicate_is_hostile(text: str) -> None:
    assert "hate_speech" in flagged(text)


def test_a_negator_reaches_one_predicate_and_not_past_a_comma() -> None:
    assert "hate_speech" in flagged("I don't hate women, I despise them.")
    assert "hate_speech" in flagged("Women are not smart, they are stupid.")
    assert flagged("Gay people are not just numbers, they're human.") == set()


def test_a_rhetorical_question_is_no_negation() -> None:
    assert "hate_speech" in flagged("Aren't Muslims just disgusting?")
    assert flagged("Muslims aren't disgusting.") == set()


def test_a_pronoun_carries_the_group_into_later_clauses() -> None:
    assert "racism" in flagged("I met some immigrants at work. They are filthy.")
    assert "sexism" in flagged("Ik zag vandaag vrouwen op tv, maar ze zijn walgelijk.")
    assert flagged("I met some immigrants at work. The food was disgusting.") == set()


def test_slurs_name_their_group_and_score_alone() -> None:
    assert {"hate_speech", "homophobia"} <= flagged("what a bunch of faggots")
    assert {"hate_speech", "homophobia", "threat"} <= flagged("faggots should die")


@pytest.mark.parametrize(
    "text",
    [
        'He tweeted "Muslims are vermin" and that is plain racism.',
        "Saying that women are inferior is sexist.",
        "Stop calling gay people disgusting.",
        "Zeggen dat moslims tuig zijn is racistisch.",
        "Ik vind het niet oké als mensen zeggen dat vrouwen dom zijn.",
        "She said it again: 'Jews should be gassed'. I reported her.",
    ],
)
def test_counter_speech_cues_keep_scores_below_the_flag(text: str) -> None:
    scores = score_text(text)
    assert 0 < scores["hate_speech"] < FLAG


def test_a_post_that_is_only_a_quote_is_scored_as_meant() -> None:
    assert "hate_speech" in flagged('"Muslims are vermin"')
