"""The action records of one post, from plan to outcome. Pure."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Final

from streams.actions.comment import build_comment
from streams.actions.delivery import Answer
from streams.actions.ledger import Entry
from streams.actions.policy import ActionPolicy, Plan, ScoredPost
from streams.models.actions import (
    MAX_REASON_CHARS,
    ActionRecord,
    ContentVersion,
    Mode,
    SinkName,
)

INTERRUPTED: Final = (
    "interrupted: the worker stopped between recording that it was sending and recording "
    "the outcome; the report may or may not have been filed, so it is not filed again"
)
ABANDONED: Final = (
    "abandoned: the claim expired before its call was made; the post is acted on anew"
)


def content_version(post: ScoredPost) -> ContentVersion:
    return "edited" if post.edited else "original"


def planned(
    post: ScoredPost,
    plan: Plan,
    policy: ActionPolicy,
    *,
    mode: Mode,
    sink: SinkName,
    now: datetime,
    action_id: str | None = None,
) -> ActionRecord:
    """The plan to act on ``post``, as it goes on the actions topic before any call."""
    assert post.account_id is not None, "the policy skips posts without an author"
    return ActionRecord(
        action_id=action_id or uuid.uuid4().hex,
        status_id=post.status_id,
        content_version=content_version(post),
        state="planned",
        mode=mode,
        sink=sink,
        policy_version=policy.version,
        account_id=post.account_id,
        categories=plan.categories,
        scores=plan.scores,
        report_category=plan.report_category,
        rule_ids=plan.rule_ids,
        forward=policy.forward,
        comment=build_comment(
            plan.scores,
            backend=post.backend,
            model=post.model,
            prompt_version=post.prompt_version,
            policy_version=policy.version,
        ),
        backend=post.backend,
        model=post.model,
        prompt_version=post.prompt_version,
        planned_at=now,
    )


def outcome(plan: ActionRecord, answer: Answer, attempts: int, now: datetime) -> ActionRecord:
    """The record of ``plan``'s final ``answer``: done, or failed with the reason."""
    if answer.kind == "done":
        update: dict[str, object] = {"state": "done", "report_id": answer.report_id}
    else:
        update = {
            "state": "failed",
            "reason": f"{answer.kind}: {answer.detail}"[:MAX_REASON_CHARS],
            # Refused, or failed for the post: the sink did nothing, so trying again later
            # cannot make a second report. Unknown: it may have acted.
            "retry_allowed": answer.kind in ("refused", "failed"),
        }
    return _with(plan, **update, finished_at=now, attempts=attempts)


def sending(plan: ActionRecord) -> ActionRecord:
    """Goes on the topic right before the first call: from here a crash leaves it open."""
    return _with(plan, state="sending")


def close_open(plan: ActionRecord, entry: Entry, now: datetime) -> ActionRecord:
    """Closes a plan (``entry``) left without an outcome: ``interrupted`` once it was sending
    (never retried), ``abandoned`` while it was only planned (the call was never made)."""
    was_sending = entry.state == "sending"
    return _with(
        plan, action_id=entry.action_id, planned_at=entry.planned_at or plan.planned_at,
        state="failed", reason=INTERRUPTED if was_sending else ABANDONED, finished_at=now,
        retry_allowed=not was_sending,
    )  # fmt: skip


def _with(record: ActionRecord, **changes: object) -> ActionRecord:
    # model_copy would skip the validators that keep each state's fields consistent.
    return ActionRecord.model_validate({**record.model_dump(), **changes})
