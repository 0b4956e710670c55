"""Which posts to act on, and how. Pure.

A post is acted on when it names its author, its language is one the policy covers, and at
least one category's score reaches that category's threshold. The report names those
categories; its Mastodon category is ``violation`` with the rule ids mapped to them when the
instance has such rules, else ``other``. Whether the post was acted on already is the ledger's
question (:mod:`streams.actions.ledger`), not the policy's.

The policy's version is a digest of everything that shapes a decision, so every action
records exactly which policy made it, and a changed setting is a new version without anyone
having to remember to bump one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from streams.categories import CATEGORIES, Category
from streams.models.scored import CategoryScores
from streams.models.status import AccountId, StatusId

#: Bumped when the decision logic below changes; part of every policy version.
LOGIC_VERSION: Final = "1"

SkipReason = Literal["below_threshold", "language", "no_account"]


class ScoredPost(BaseModel):
    """What the action agent reads from a scored record.

    Only the fields a decision needs, and unknown fields are ignored: a newer scored record
    (a later schema version) is still read, as long as these fields mean the same.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    schema_version: int = Field(ge=1, description="Version 1 records name no author.")
    status_id: StatusId = Field(description="The status acted on: for a boost, the boosted one.")
    boost_id: StatusId | None = Field(None, description="The boost the scores came from.")
    account_id: AccountId | None = None
    language: str | None = None
    scores: CategoryScores
    backend: str = Field(min_length=1)
    model: str = Field(min_length=1)
    prompt_version: str = Field(min_length=1)
    edited: bool = False

    @model_validator(mode="before")
    @classmethod
    def _boost_acts_on_the_boosted_status(cls, data: Any) -> Any:
        # A boost's record (schema 3) is keyed by the boost, but a report names the boosted
        # status and its author; keying the action by it means a post boosted many times, and
        # scored under each boost, is still reported once.
        if isinstance(data, dict) and data.get("reblog_of"):
            data = {**data, "status_id": data["reblog_of"], "boost_id": data.get("status_id")}
        return data


class ActionPolicy(BaseModel):
    """The settings that decide whether and how to act; build it with :func:`build_policy`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Every category's threshold; None: never act on that category.
    thresholds: dict[Category, float | None]
    #: Primary language subtags acted on (lower case); None: every language.
    languages: frozenset[str] | None
    #: The instance's rule ids each category breaks.
    rule_ids: dict[Category, tuple[str, ...]]
    forward: bool

    @property
    def version(self) -> str:
        """``<logic version>-<8 hex digits of the settings' digest>``."""
        canonical = json.dumps(
            {
                "thresholds": {c.value: t for c, t in sorted(self.thresholds.items())},
                "languages": sorted(self.languages) if self.languages is not None else None,
                "rule_ids": {c.value: list(r) for c, r in sorted(self.rule_ids.items())},
                "forward": self.forward,
            },
            sort_keys=True,
        )
        return f"{LOGIC_VERSION}-{hashlib.sha256(canonical.encode()).hexdigest()[:8]}"


def build_policy(
    default_threshold: float,
    thresholds: Mapping[str, float | None],
    languages: str,
    rule_ids: Mapping[str, list[str] | tuple[str, ...]],
    forward: bool,
) -> ActionPolicy:
    """A policy from settings-shaped values; ValueError naming a bad entry."""
    unknown = sorted((set(thresholds) | set(rule_ids)) - set(CATEGORIES))
    if unknown:
        raise ValueError(f"unknown categories {unknown}; known: {', '.join(CATEGORIES)}")
    resolved: dict[Category, float | None] = {}
    for name in CATEGORIES:
        value = thresholds.get(name, default_threshold)
        if value is not None and not 0 < value <= 1:
            raise ValueError(f"the threshold of {name} must be in (0, 1] or null, not {value}")
        resolved[Category(name)] = value
    chosen = {primary_language(tag) for tag in languages.split(",") if tag.strip()}
    return ActionPolicy(
        thresholds=resolved,
        languages=frozenset(chosen) or None,
        rule_ids={Category(c): tuple(sorted(set(r), key=_rule_order)) for c, r in rule_ids.items()
                  if r},
        forward=forward,
    )  # fmt: skip


def primary_language(tag: str) -> str:
    """``"en"`` for ``"en-GB"``, ``"pt"`` for ``"pt_BR"``: the part a policy names."""
    return tag.strip().replace("_", "-").split("-", 1)[0].lower()


def _rule_order(rule_id: str) -> tuple[int, str]:
    return (int(rule_id), "") if rule_id.isdigit() else (1 << 62, rule_id)


@dataclass(frozen=True)
class Plan:
    """How to act on one post."""

    categories: tuple[Category, ...]
    scores: dict[Category, float]
    report_category: Literal["violation", "other"]
    rule_ids: tuple[str, ...]


@dataclass(frozen=True)
class Skip:
    reason: SkipReason


def decide(policy: ActionPolicy, post: ScoredPost) -> Plan | Skip:
    """Act on ``post`` (a :class:`Plan`), or why not (a :class:`Skip`)."""
    scores = post.scores.as_dict()
    over = tuple(
        Category(name)
        for name in CATEGORIES
        if (limit := policy.thresholds[Category(name)]) is not None and scores[name] >= limit
    )
    if not over:
        return Skip("below_threshold")
    if policy.languages is not None and (
        post.language is None or primary_language(post.language) not in policy.languages
    ):
        return Skip("language")
    if post.account_id is None:
        return Skip("no_account")
    rules = sorted({r for c in over for r in policy.rule_ids.get(c, ())}, key=_rule_order)
    return Plan(
        categories=over,
        scores={c: scores[c.value] for c in over},
        report_category="violation" if rules else "other",
        rule_ids=tuple(rules),
    )
