"""Mastodon reports (the Admin::Report entity of ``report.*`` webhooks) as corrections. Pure.

What each event becomes, one correction per reported status (keyed by the status id):

* ``report.created`` -> a ``user_report`` correction: the report's mapped categories as
  expected categories, its category, rule ids and comment as the reason, the reporting account's
  id as actor (the remote instance's domain for a report that came from another server, since
  Mastodon sends those in the name of the instance), and the status's text from the report.
  Reports filed by this system's own accounts (``mastodon_own_account_ids``) are the
  classifier's own judgement, not a user's: they make no ``user_report``.
* ``report.updated`` while unresolved (assigned, re-categorised, reopened) -> nothing.
* ``report.updated``, resolved -> one ``admin_override`` per status, the moderator as actor.
  Mastodon's ``action_taken`` only says *resolved*: "mark as resolved" sets it as a suspension
  does, and the entity names no action. A resolution is read as **enforced** when the target
  account carries a sanction (suspended, silenced, sensitized, disabled), else as **dismissed**.

  - enforced, with mapped categories -> ``admin_override`` confirming them;
  - dismissed -> ``admin_override`` with no expected categories: the posts violate nothing
    (unless ``mastodon_dismissal_labels_clean`` is false: then nothing, counted as
    ``dismissal_ignored``, for instances whose moderators resolve by warning or deleting);
  - enforced, and the mapping gives **no category** (``confirmed_unmapped``) -> **no
    correction**. The harvest policy turns the deciding correction's expected categories into
    the labels, so an ``admin_override`` with none would label the post clean, the opposite of
    the decision; and naming a category the moderator did not name would invent one. The
    decision is counted (``streams_mastodon_webhooks_total{outcome="confirmed_unmapped"}``)
    and logged with the report id, so an operator can map the rule and replay. For the harvest it
    is as if the resolution never came: the post's example is decided by its other corrections
    (other reports, appeals, overrides) or, with none, there is no example. A ``report.created``
    whose mapping gives no category makes no ``user_report`` either (``reported_unmapped``),
    for the same reason.

Categories of a report: the union of the mapped categories of its rule ids; when none of its
rules is mapped, the mapping of its report category (``spam``, ``legal``, ``violation``,
``other``). The mapping is ``mastodon_rule_categories``, e.g.
``{"3": ["hate_speech", "racism"], "7": ["threat"], "other": ["toxic"]}``.

Correction ids are ``mastodon:report:<report id>:status:<status id>:reported`` and
``...:decision``: a redelivery of the same webhook gives the same ids, and a report resolved
again after being reopened replaces its earlier decision (same id, later timestamp: the harvest
policy keeps the later one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from streams.categories import Category
from streams.models.corrections import (
    MAX_CORRECTION_TEXT_CHARS,
    AwareDatetime,
    CategoryList,
    Correction,
    FeedbackType,
    Source,
)
from streams.models.status import Status, scoring_target, status_text

#: Mastodon's report categories (``Report.category`` enum).
REPORT_CATEGORIES: Final = frozenset({"other", "spam", "legal", "violation"})

#: Account flags of REST::Admin::AccountSerializer that show a moderation sanction.
SANCTIONS: Final = ("suspended", "silenced", "sensitized", "disabled")

#: Longest reason kept on a correction; Mastodon caps local report comments at 1,000 chars.
MAX_REASON_CHARS: Final = 1_200

Outcome = Literal[
    "reported",
    "reported_unmapped",
    "own_report",
    "open",
    "confirmed",
    "confirmed_unmapped",
    "dismissed",
    "dismissal_ignored",
    "no_statuses",
]


def _to_str(value: Any) -> Any:
    # Mastodon serialises ids as strings; other servers and old versions send numbers.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _none_to_empty(value: Any) -> Any:
    return "" if value is None else value


def _none_to_list(value: Any) -> Any:
    return [] if value is None else value


def _none_to_false(value: Any) -> Any:
    # Admin::AccountSerializer gives null, not false, for what a remote account has no user
    # for (disabled, approved, confirmed).
    return False if value is None else value


Id = Annotated[str, BeforeValidator(_to_str)]
Flag = Annotated[bool, BeforeValidator(_none_to_false)]
_Lenient = ConfigDict(extra="ignore", frozen=True)


class AdminAccount(BaseModel):
    """REST::Admin::AccountSerializer, as far as reports need it."""

    model_config = _Lenient

    id: Id
    username: str | None = None
    domain: str | None = Field(None, description="None for a local account.")
    suspended: Flag = False
    silenced: Flag = False
    sensitized: Flag = False
    disabled: Flag = False

    @property
    def sanctions(self) -> list[str]:
        return [name for name in SANCTIONS if getattr(self, name)]


class ReportRule(BaseModel):
    """REST::RuleSerializer: an instance rule a report cites."""

    model_config = _Lenient

    id: Id
    text: str | None = None


class AdminReport(BaseModel):
    """REST::Admin::ReportSerializer: the ``object`` of a ``report.*`` webhook."""

    model_config = _Lenient

    id: Id
    action_taken: bool = Field(False, description="True once resolved, whatever the action.")
    action_taken_at: AwareDatetime | None = None
    category: str = "other"
    comment: Annotated[str, BeforeValidator(_none_to_empty)] = ""
    forwarded: bool | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime | None = None
    account: AdminAccount | None = Field(None, description="The reporter.")
    target_account: AdminAccount | None = None
    action_taken_by_account: AdminAccount | None = None
    statuses: Annotated[list[dict[str, Any]], BeforeValidator(_none_to_list)] = []
    rules: Annotated[list[ReportRule], BeforeValidator(_none_to_list)] = []


def _rule_key(key: str) -> str:
    key = key.strip()
    if key.isdigit() or key in REPORT_CATEGORIES:
        return key
    raise ValueError(
        f"key {key!r} is neither a rule id (digits) nor a report category "
        f"({', '.join(sorted(REPORT_CATEGORIES))})"
    )


class ReportPolicy(BaseModel):
    """How reports map to categories, and whose reports are this system's own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule_categories: dict[str, CategoryList] = Field(default_factory=dict)
    own_account_ids: frozenset[str] = frozenset()
    dismissal_labels_clean: bool = True

    @field_validator("rule_categories", mode="before")
    @classmethod
    def _keys(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {_rule_key(str(k)): v for k, v in value.items()}
        return value

    def categories_for(self, report: AdminReport) -> list[Category]:
        """The report's categories: its mapped rules, else its mapped report category."""
        found: set[Category] = set()
        for rule in report.rules:
            found.update(self.rule_categories.get(rule.id, []))
        if not found:
            found.update(self.rule_categories.get(report.category, []))
        return [c for c in Category if c in found]


@dataclass(frozen=True, slots=True)
class ReportOutcome:
    """What one ``report.*`` event became. ``outcome`` is the metric label."""

    report_id: str
    outcome: Outcome
    corrections: tuple[Correction, ...] = ()
    #: Reported statuses that could not be read as a Status (no valid id); left out.
    skipped_statuses: int = 0


@dataclass(frozen=True, slots=True)
class _Reported:
    status_id: str
    text: str | None
    language: str | None


def _reported_statuses(report: AdminReport) -> tuple[list[_Reported], int]:
    found: dict[str, _Reported] = {}
    skipped = 0
    for item in report.statuses:
        try:
            status = scoring_target(Status.model_validate(item))
        except ValidationError:
            skipped += 1
            continue
        text = status_text(status)[:MAX_CORRECTION_TEXT_CHARS] or None
        found[status.id] = _Reported(status.id, text, status.language)
    return list(found.values()), skipped


def _reporter(report: AdminReport) -> str | None:
    account = report.account
    if account is None:
        return None
    # A report from another server arrives in the name of that server's instance actor.
    return account.domain or account.id


def _report_summary(report: AdminReport) -> str:
    rules = ",".join(rule.id for rule in report.rules) or "none"
    return f"Mastodon report {report.id} (category {report.category}; rules {rules})"


def _correction(
    report: AdminReport,
    reported: _Reported,
    *,
    kind: Literal["reported", "decision"],
    source: Source,
    feedback_type: FeedbackType,
    expected: list[Category],
    actual: list[Category],
    actor: str | None,
    reason: str,
    timestamp: datetime,
) -> Correction:
    return Correction(
        correction_id=f"mastodon:report:{report.id}:status:{reported.status_id}:{kind}",
        status_id=reported.status_id,
        text=reported.text,
        language=reported.language,
        feedback_type=feedback_type,
        expected_categories=expected,
        actual_categories=actual,
        source=source,
        actor_id=actor,
        reason=reason[:MAX_REASON_CHARS],
        timestamp=timestamp,
    )


def _created(report: AdminReport, policy: ReportPolicy, statuses: list[_Reported]) -> ReportOutcome:
    if report.account is not None and report.account.id in policy.own_account_ids:
        return ReportOutcome(report.id, "own_report")
    categories = policy.categories_for(report)
    if not categories:
        return ReportOutcome(report.id, "reported_unmapped")
    comment = report.comment.strip()
    reason = _report_summary(report) + (f": {comment}" if comment else "")
    corrections = tuple(
        _correction(
            report,
            reported,
            kind="reported",
            source="user_report",
            feedback_type="other",
            expected=categories,
            actual=[],
            actor=_reporter(report),
            reason=reason,
            timestamp=report.created_at,
        )
        for reported in statuses
    )
    return ReportOutcome(report.id, "reported", corrections)


def _resolved(
    report: AdminReport, policy: ReportPolicy, statuses: list[_Reported]
) -> ReportOutcome:
    categories = policy.categories_for(report)
    own = report.account is not None and report.account.id in policy.own_account_ids
    sanctions = report.target_account.sanctions if report.target_account else []
    if sanctions and not categories:
        return ReportOutcome(report.id, "confirmed_unmapped")
    if not sanctions and not policy.dismissal_labels_clean:
        return ReportOutcome(report.id, "dismissal_ignored")
    if sanctions:
        outcome: Outcome = "confirmed"
        expected = categories
        feedback: FeedbackType = "other"
        reason = f"{_report_summary(report)} resolved with {', '.join(sanctions)}: confirmed"
    else:
        outcome, expected = "dismissed", []
        feedback = "false_positive" if own else "other"
        reason = f"{_report_summary(report)} resolved with no sanction: violates nothing"
    moderator = report.action_taken_by_account
    when = report.action_taken_at or report.updated_at or report.created_at
    corrections = tuple(
        _correction(
            report,
            reported,
            kind="decision",
            source="admin_override",
            feedback_type=feedback,
            expected=expected,
            # Only our own reports say what the model had flagged.
            actual=categories if own else [],
            actor=moderator.id if moderator else None,
            reason=reason,
            timestamp=when,
        )
        for reported in statuses
    )
    return ReportOutcome(report.id, outcome, corrections)


def report_corrections(event: str, report: AdminReport, policy: ReportPolicy) -> ReportOutcome:
    """The corrections of one ``report.created`` or ``report.updated`` event (see the module)."""
    if event not in ("report.created", "report.updated"):
        raise ValueError(f"not a report event: {event!r}")
    statuses, skipped = _reported_statuses(report)
    if event == "report.updated" and not report.action_taken:
        result = ReportOutcome(report.id, "open")
    elif not statuses:
        result = ReportOutcome(report.id, "no_statuses")
    elif event == "report.created":
        result = _created(report, policy, statuses)
    else:
        result = _resolved(report, policy, statuses)
    if skipped:
        return ReportOutcome(result.report_id, result.outcome, result.corrections, skipped)
    return result
