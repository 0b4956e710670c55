"""Action records from plan to outcome, and the report's comment."""

from __future__ import annotations

import json

import pytest
from action_samples import NOW, plan_of, policy, post
from pydantic import ValidationError

from streams.actions.comment import build_comment
from streams.actions.delivery import Answer
from streams.actions.records import outcome
from streams.categories import CATEGORIES, Category
from streams.models.actions import MAX_COMMENT_CHARS, ActionRecord


def test_a_plan_carries_what_the_report_needs_and_the_policy_version() -> None:
    rules = policy()
    plan = plan_of(post(scores={"racism": 0.91}), rules)
    assert (plan.state, plan.mode, plan.sink, plan.content_version) == (
        "planned", "live", "mastodon", "original",
    )  # fmt: skip
    assert (plan.status_id, plan.account_id) == ("109", "7001")
    assert (plan.report_category, plan.rule_ids) == ("violation", ("1",))
    assert plan.policy_version == rules.version and plan.policy_version in plan.comment
    assert len(plan.action_id) == 32 and plan.finished_at is None


def test_outcomes_say_whether_a_retry_could_report_twice() -> None:
    plan = plan_of(post(scores={"threat": 0.9}))
    filed = outcome(plan, Answer("done", "ok", "filed", report_id="101"), 1, NOW)
    assert (filed.state, filed.report_id, filed.finished_at) == ("done", "101", NOW)
    refused = outcome(plan, Answer("refused", "refused", "403: no scope"), 1, NOW)
    assert (refused.state, refused.retry_allowed) == ("failed", True)
    assert refused.reason == "refused: 403: no scope"
    unknown = outcome(plan, Answer("unknown", "no_answer", "timeout"), 2, NOW)
    assert (unknown.retry_allowed, unknown.attempts) == (False, 2)


@pytest.mark.parametrize(
    "change",
    [
        {"state": "done"},  # no finished_at
        {"state": "sending", "reason": "x"},
        {"state": "failed", "finished_at": "2026-11-02T10:00:01Z"},  # no reason
        {"report_id": "5"},  # a plan has no report id
        {"retry_allowed": True},
        {"rule_ids": []},  # a violation names rules
        {"scores": {"toxic": 0.9}},  # not the categories acted on
        {"comment": "x" * (MAX_COMMENT_CHARS + 1)},
        {"extra": 1},
    ],
)
def test_inconsistent_records_are_refused(change: dict[str, object]) -> None:
    data = json.loads(plan_of(post(scores={"racism": 0.9})).to_bytes()) | change
    with pytest.raises(ValidationError):
        ActionRecord.model_validate(data)


def test_the_comment_names_scores_model_and_policy_and_nothing_of_the_post() -> None:
    comment = build_comment(
        {Category.RACISM: 0.912, Category.INSULT: 0.5},
        backend="openai", model="gpt-4o-mini", prompt_version="v3", policy_version="1-abcd1234",
    )  # fmt: skip
    for part in ("racism 0.91", "insult 0.50", "gpt-4o-mini", "prompt v3", "1-abcd1234"):
        assert part in comment
    assert len(comment) <= MAX_COMMENT_CHARS


def test_the_comment_fits_mastodons_limit_whatever_the_names() -> None:
    every = {Category(c): 0.99 for c in CATEGORIES}
    comment = build_comment(
        every, backend="b" * 500, model="m\n" * 500, prompt_version="p" * 500,
        policy_version="v" * 64,
    )  # fmt: skip
    assert len(comment) <= MAX_COMMENT_CHARS and "\n" not in comment
    assert all(f"{c} 0.99" in comment for c in CATEGORIES)
