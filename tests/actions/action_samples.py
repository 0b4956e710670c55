"""Scored posts and plans for the action tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from streams.actions.policy import ActionPolicy, Plan, ScoredPost, build_policy, decide
from streams.actions.records import planned
from streams.categories import CATEGORIES
from streams.models.actions import ActionRecord, Mode

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def post(status_id: str = "109", **fields: Any) -> ScoredPost:
    scores = dict.fromkeys(CATEGORIES, 0.05) | fields.pop("scores", {})
    return ScoredPost.model_validate(
        {
            "schema_version": 3,
            "status_id": status_id,
            "account_id": "7001",
            "language": "nl",
            "scores": scores,
            "backend": "lexicon",
            "model": "lexicon-v1",
            "prompt_version": "v1",
        }
        | fields
    )


def policy(**options: Any) -> ActionPolicy:
    return build_policy(
        options.get("default", 0.5),
        options.get("thresholds", {}),
        options.get("languages", ""),
        options.get("rule_ids", {"racism": ["1"], "hate_speech": ["1"]}),
        options.get("forward", False),
    )


def plan_of(
    scored: ScoredPost, rules: ActionPolicy | None = None, mode: Mode = "live"
) -> ActionRecord:
    rules = rules or policy()
    decision = decide(rules, scored)
    assert isinstance(decision, Plan)
    return planned(scored, decision, rules, mode=mode, sink="mastodon", now=NOW)
