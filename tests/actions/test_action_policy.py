"""Which posts the policy acts on, and what the report says."""

from __future__ import annotations

import pytest
from action_samples import policy, post

from streams.actions.config import policy_from_settings, rules_from_rule_categories
from streams.actions.policy import Plan, Skip, build_policy, decide
from streams.categories import Category
from streams.errors import ConfigurationError
from streams.settings import Settings


def test_a_post_over_a_mapped_category_is_a_violation_of_its_rules() -> None:
    decision = decide(policy(), post(scores={"racism": 0.9, "insult": 0.6, "toxic": 0.49}))
    assert decision == Plan(
        categories=(Category.RACISM, Category.INSULT),
        scores={Category.RACISM: 0.9, Category.INSULT: 0.6},
        report_category="violation",
        rule_ids=("1",),
    )


def test_a_post_over_unmapped_categories_only_is_reported_as_other() -> None:
    decision = decide(policy(), post(scores={"threat": 0.8}))
    assert isinstance(decision, Plan)
    assert (decision.report_category, decision.rule_ids) == ("other", ())


def test_thresholds_default_to_the_flag_threshold_and_can_be_set_or_switched_off() -> None:
    rules = policy(default=0.7, thresholds={"threat": 0.3, "insult": None})
    assert decide(rules, post(scores={"toxic": 0.69})) == Skip("below_threshold")
    assert isinstance(decide(rules, post(scores={"toxic": 0.7})), Plan)
    assert isinstance(decide(rules, post(scores={"threat": 0.3})), Plan)
    assert decide(rules, post(scores={"insult": 1.0})) == Skip("below_threshold")


def test_languages_restrict_by_primary_subtag_and_leave_unknown_languages_alone() -> None:
    rules = policy(languages="nl, EN")
    toxic = {"scores": {"toxic": 0.9}}
    assert isinstance(decide(rules, post(language="en-GB", **toxic)), Plan)
    assert isinstance(decide(rules, post(language="nl", **toxic)), Plan)
    assert decide(rules, post(language="de", **toxic)) == Skip("language")
    assert decide(rules, post(language=None, **toxic)) == Skip("language")
    assert isinstance(decide(policy(), post(language=None, **toxic)), Plan)


def test_a_post_without_its_author_cannot_be_reported() -> None:
    assert decide(policy(), post(account_id=None, scores={"toxic": 0.9})) == Skip("no_account")
    old = post(scores={"toxic": 0.9}).model_dump() | {"schema_version": 1, "account_id": None}
    assert decide(policy(), type(post())(**old)) == Skip("no_account")


def test_rule_ids_are_a_sorted_union() -> None:
    rules = policy(rule_ids={"racism": ["12", "3"], "threat": ["3", "x-9"]})
    decision = decide(rules, post(scores={"racism": 0.9, "threat": 0.9}))
    assert isinstance(decision, Plan) and decision.rule_ids == ("3", "12", "x-9")


def test_the_version_changes_with_every_setting_and_only_then() -> None:
    base = policy()
    assert base.version == policy().version and base.version.startswith("1-")
    variants = [
        policy(default=0.6), policy(thresholds={"threat": 0.4}), policy(languages="nl"),
        policy(rule_ids={}), policy(forward=True),
    ]  # fmt: skip
    assert len({v.version for v in variants} | {base.version}) == len(variants) + 1


@pytest.mark.parametrize(
    ("thresholds", "rule_ids", "message"),
    [
        ({"rudeness": 0.5}, {}, "unknown categories"),
        ({}, {"rudeness": ["1"]}, "unknown categories"),
        ({"toxic": 0.0}, {}, "must be in"),
        ({"toxic": 1.5}, {}, "must be in"),
    ],
)
def test_bad_settings_are_refused(thresholds: dict, rule_ids: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError, match=message):
        build_policy(0.5, thresholds, "", rule_ids, False)


def test_rule_ids_default_to_the_rule_categories_read_backwards() -> None:
    mapping = {"3": ["hate_speech", "racism"], "7": ["threat"], "other": ["toxic"], "9": ["x"]}
    assert rules_from_rule_categories(mapping) == {
        "hate_speech": ["3"], "racism": ["3"], "threat": ["7"],
    }  # fmt: skip
    settings = Settings(mastodon_rule_categories=mapping)
    assert policy_from_settings(settings).rule_ids == {
        Category.HATE_SPEECH: ("3",), Category.RACISM: ("3",), Category.THREAT: ("7",),
    }  # fmt: skip
    explicit = Settings(mastodon_rule_categories=mapping, actions_rule_ids={"insult": ["2"]})
    assert policy_from_settings(explicit).rule_ids == {Category.INSULT: ("2",)}


def test_settings_errors_name_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="STREAMS_ACTIONS_THRESHOLDS"):
        policy_from_settings(Settings(actions_thresholds={"rudeness": 0.5}))
    with pytest.raises(ConfigurationError, match="STREAMS_ACTIONS_RULE_IDS"):
        policy_from_settings(Settings(actions_rule_ids={"racism": ["1 OR 1=1"]}))


def test_a_boost_is_acted_on_as_the_status_it_boosts() -> None:
    boost = post("501", reblog_of="109")
    assert (boost.status_id, boost.boost_id) == ("109", "501")
    assert (post("109").status_id, post("109").boost_id) == ("109", None)
