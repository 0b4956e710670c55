"""The action records: one per post on ``moderation.actions``, and the stop switch.

An action goes ``planned`` -> ``sending`` -> ``done`` (with the sink's report id) or
``failed`` (with the reason), each state a record keyed by the status id, so the compacted
topic keeps the latest state of every post's action. ``planned`` claims the post;
``sending`` is on the topic before the sink is called, so a crash after it leaves open
whether the call was made, and the agent then never makes it again. A plan that never got to
``sending`` was certainly not carried out (see ``streams.actions.ledger``). No record carries
post text.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import Field, model_validator

from streams.categories import Category
from streams.models.base import Record
from streams.models.scored import Score, UtcDatetime
from streams.models.status import AccountId, StatusId

#: Mastodon's limit on a local report's comment.
MAX_COMMENT_CHARS: Final = 1_000
MAX_REASON_CHARS: Final = 500
#: The key of the one record on the control topic.
SWITCH_KEY: Final = b"actions"

ContentVersion = Literal["original", "edited"]
ActionState = Literal["planned", "sending", "done", "failed"]
Mode = Literal["dry-run", "live"]
SinkName = Literal["mastodon", "webhook"]
RuleId = Annotated[str, Field(pattern=r"^[0-9A-Za-z_-]{1,64}$")]


class ActionRecord(Record):
    """One state of the action on one post (a report filed, or a webhook sent)."""

    schema_version: Literal[1] = 1
    action_id: str = Field(
        pattern=r"^[0-9a-f]{32}$",
        description="Id of this plan; its done/failed records and webhook deliveries repeat it.",
    )
    status_id: StatusId = Field(description="The post acted on; the record key.")
    content_version: ContentVersion = Field(
        description="Which content of the post: as first published, or edited. A post is "
        "acted on at most once per content version."
    )
    state: ActionState
    mode: Mode = Field(description="dry-run: planned and recorded only, no call made.")
    sink: SinkName
    policy_version: str = Field(min_length=1, max_length=64)
    account_id: AccountId = Field(description="The post's author, whom the report names.")
    categories: tuple[Category, ...] = Field(
        min_length=1, description="Categories at or over the policy's thresholds."
    )
    scores: dict[Category, Score] = Field(description="The scores of those categories.")
    report_category: Literal["violation", "other"] = Field(
        description="violation when a rule of the instance is mapped to a category, else other."
    )
    rule_ids: tuple[RuleId, ...] = Field(description="The instance's rules the post breaks.")
    forward: bool = Field(description="Whether a remote post's report is forwarded.")
    comment: str = Field(max_length=MAX_COMMENT_CHARS, description="Names no post text.")
    backend: str = Field(min_length=1)
    model: str = Field(min_length=1)
    prompt_version: str = Field(min_length=1)
    planned_at: UtcDatetime
    finished_at: UtcDatetime | None = None
    attempts: int = Field(0, ge=0, description="Calls made to the sink.")
    report_id: str | None = Field(
        None, max_length=128, description="done: the id the sink gave (Mastodon's report id)."
    )
    reason: str | None = Field(None, max_length=MAX_REASON_CHARS, description="failed: why.")
    retry_allowed: bool = Field(
        False,
        description="failed: true when the sink certainly did not act (it refused the call), "
        "so a later delivery of the post may try again.",
    )

    @model_validator(mode="after")
    def _state_fields_agree(self) -> ActionRecord:
        open_state = self.state in ("planned", "sending")
        if open_state and (self.finished_at or self.report_id or self.reason):
            raise ValueError(f"a {self.state} action has no finished_at, report_id or reason")
        if not open_state and self.finished_at is None:
            raise ValueError(f"a {self.state} action needs finished_at")
        if self.state == "failed" and not self.reason:
            raise ValueError("a failed action needs its reason")
        if self.state != "failed" and self.retry_allowed:
            raise ValueError("only a failed action may allow a retry")
        if set(self.scores) != set(self.categories):
            raise ValueError("scores must hold exactly the categories acted on")
        if (self.report_category == "violation") != bool(self.rule_ids):
            raise ValueError("report_category is violation exactly when rule_ids are given")
        return self


class ActionSwitch(Record):
    """The stop switch: the latest record on the control topic decides for every worker."""

    schema_version: Literal[1] = 1
    state: Literal["running", "stopped"]
    changed_at: UtcDatetime
    origin: Literal["api", "command"] = Field(description="Who flipped it: HTTP API or CLI.")
    reason: str | None = Field(None, max_length=MAX_REASON_CHARS)
