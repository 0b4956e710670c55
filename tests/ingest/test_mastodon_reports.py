"""Reports as corrections, and the training examples the harvest policy builds from them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from mastodon_entities import admin_account, report, rule, status
from pydantic import ValidationError

from streams.categories import CATEGORIES
from streams.harvest.policy import build_training_example
from streams.ingest.mastodon.reports import AdminReport, ReportPolicy, report_corrections
from streams.models.corrections import Correction

POLICY = ReportPolicy(
    rule_categories={"3": ["hate_speech", "racism"], "4": ["threat"], "other": ["toxic"]}
)
MODERATOR = admin_account("1", "admin")
NOW = datetime(2022, 11, 17, tzinfo=UTC)


def outcome(event: str, data: dict[str, Any], policy: ReportPolicy = POLICY) -> Any:
    return report_corrections(event, AdminReport.model_validate(data), policy)


def example(corrections: list[Correction]) -> Any:
    return build_training_example(
        corrections[0].status_id, corrections, None, None, harvested_at=NOW
    )


def ones(labels: dict[Any, int]) -> list[str]:
    return [c for c in CATEGORIES if labels[c]]


def test_report_created_is_a_user_report_per_status() -> None:
    data = report(statuses=[status("11", "<p>first</p>"), status("12", "<p>second</p>")])
    result = outcome("report.created", data)
    assert result.outcome == "reported"
    first, second = result.corrections
    assert (first.status_id, second.status_id) == ("11", "12")
    assert first.source == "user_report" and first.feedback_type == "other"
    assert first.expected_categories == ["hate_speech", "racism"]
    assert first.actor_id == "200"  # the reporter's account id
    assert first.text == "first" and second.text == "second" and first.language == "en"
    assert first.reason == (
        "Mastodon report 42 (category violation; rules 3): slurs in the replies"
    )
    assert first.correction_id == "mastodon:report:42:status:11:reported"
    assert first.timestamp == datetime(2022, 11, 15, 17, tzinfo=UTC)


def test_a_report_from_another_server_names_that_server() -> None:
    remote = admin_account("300", "mastodon.other", domain="mastodon.other")
    result = outcome("report.created", report(reporter=remote, forwarded=True))
    assert result.corrections[0].actor_id == "mastodon.other"


def test_rules_decide_and_the_report_category_is_the_fallback() -> None:
    two_rules = report(rules=[rule("3", "No hate"), rule("4", "No threats")])
    assert outcome("report.created", two_rules).corrections[0].expected_categories == [
        "threat",
        "hate_speech",
        "racism",
    ]
    unmapped_rule = report(category="other", rules=[rule("9", "No spoilers")], comment="")
    [only] = outcome("report.created", unmapped_rule).corrections
    assert only.expected_categories == ["toxic"]
    assert only.reason == "Mastodon report 42 (category other; rules 9)"


def test_an_unmapped_report_makes_no_user_report() -> None:
    result = outcome("report.created", report(category="spam", rules=[]))
    assert result.outcome == "reported_unmapped" and result.corrections == ()


def test_our_own_reports_are_no_user_reports() -> None:
    policy = POLICY.model_copy(update={"own_account_ids": frozenset({"200"})})
    assert outcome("report.created", report(), policy).outcome == "own_report"


def test_an_update_before_resolution_makes_nothing() -> None:
    result = outcome("report.updated", report())  # e.g. assigned to a moderator
    assert result.outcome == "open" and result.corrections == ()


@pytest.mark.parametrize("sanction", ["suspended", "silenced", "sensitized", "disabled"])
def test_resolved_with_a_sanction_confirms_the_categories(sanction: str) -> None:
    target = admin_account("109334860508022726", "admin", None, **{sanction: True})
    data = report(target=target, resolved_by=MODERATOR)
    result = outcome("report.updated", data)
    assert result.outcome == "confirmed"
    [decision] = result.corrections
    assert decision.source == "admin_override"
    assert decision.expected_categories == ["hate_speech", "racism"]
    assert decision.actor_id == "1"
    assert decision.correction_id == "mastodon:report:42:status:109348677773283527:decision"
    assert decision.timestamp == datetime(2022, 11, 16, 9, tzinfo=UTC)
    assert sanction in (decision.reason or "")


def test_resolved_with_no_sanction_says_the_posts_violate_nothing() -> None:
    result = outcome("report.updated", report(resolved_by=MODERATOR))
    assert result.outcome == "dismissed"
    [decision] = result.corrections
    assert decision.source == "admin_override" and decision.expected_categories == []
    assert decision.feedback_type == "other" and decision.actual_categories == []


@pytest.mark.parametrize(("suspended", "expected"), [(False, "dismissed"), (True, "confirmed")])
def test_a_remote_target_with_null_user_fields_is_read(suspended: bool, expected: str) -> None:
    # Admin::AccountSerializer: disabled, approved and confirmed are null for a remote account.
    target = admin_account("300", "troll", "other.example", suspended=suspended)
    assert (target["disabled"], target["approved"], target["confirmed"]) == (None, None, None)
    for event in ("report.created", "report.updated"):
        result = outcome(event, report(target=target, resolved_by=MODERATOR))
        assert result.outcome == ("reported" if event == "report.created" else expected)


def test_a_dismissed_report_of_our_own_is_a_false_positive() -> None:
    policy = POLICY.model_copy(update={"own_account_ids": frozenset({"200"})})
    [decision] = outcome("report.updated", report(resolved_by=MODERATOR), policy).corrections
    assert decision.feedback_type == "false_positive"
    assert decision.actual_categories == ["hate_speech", "racism"]


def test_dismissals_can_be_left_out() -> None:
    policy = POLICY.model_copy(update={"dismissal_labels_clean": False})
    result = outcome("report.updated", report(resolved_by=MODERATOR), policy)
    assert result.outcome == "dismissal_ignored" and result.corrections == ()


def test_a_confirmed_report_without_a_mapped_category_labels_nothing() -> None:
    suspended = admin_account("109334860508022726", "admin", suspended=True)
    data = report(category="spam", rules=[], target=suspended, resolved_by=MODERATOR)
    result = outcome("report.updated", data)
    assert result.outcome == "confirmed_unmapped" and result.corrections == ()


def test_harvest_of_a_confirmed_report() -> None:
    target = admin_account("109334860508022726", "admin", silenced=True)
    created = outcome("report.created", report()).corrections
    resolved = outcome("report.updated", report(target=target, resolved_by=MODERATOR))
    built = example([*created, *resolved.corrections])
    assert built.decided_by == "admin_override" and not built.contested
    assert ones(built.labels) == ["hate_speech", "racism"]
    assert built.text == "hello" and len(built.provenance) == 2


def test_harvest_of_a_dismissed_report_is_a_clean_example() -> None:
    created = outcome("report.created", report()).corrections
    dismissed = outcome("report.updated", report(resolved_by=MODERATOR)).corrections
    built = example([*created, *dismissed])
    assert built.decided_by == "admin_override" and ones(built.labels) == []


def test_harvest_of_an_unmapped_confirmation_leaves_the_other_corrections_deciding() -> None:
    # Another user's report of the same post, mapped; this report's confirmation is unmapped.
    other = outcome("report.created", report("41", rules=[rule("4", "No threats")]))
    suspended = admin_account("109334860508022726", "admin", suspended=True)
    unmapped = report(category="spam", rules=[], target=suspended, resolved_by=MODERATOR)
    assert outcome("report.updated", unmapped).corrections == ()
    built = example(list(other.corrections))
    assert built.decided_by == "user_report" and ones(built.labels) == ["threat"]


def test_a_redelivery_and_a_second_resolution_keep_one_decision_per_report() -> None:
    first = outcome("report.updated", report(resolved_by=MODERATOR)).corrections
    again = outcome("report.updated", report(resolved_by=MODERATOR)).corrections
    assert first == again
    # Reopened, then resolved with a suspension a day later: same id, the later one decides.
    later = report(
        target=admin_account("109334860508022726", "admin", suspended=True), resolved_by=MODERATOR
    )
    later["action_taken_at"] = "2022-11-17T09:00:00.000Z"
    relabelled = outcome("report.updated", later).corrections
    assert relabelled[0].correction_id == first[0].correction_id
    built = example([*first, *relabelled])
    assert ones(built.labels) == ["hate_speech", "racism"] and len(built.provenance) == 1


def test_a_report_without_statuses_makes_nothing() -> None:
    assert outcome("report.created", report(statuses=[])).outcome == "no_statuses"


def test_unreadable_statuses_are_skipped_and_counted() -> None:
    result = outcome("report.created", report(statuses=[{"content": "no id"}, status("11")]))
    assert [c.status_id for c in result.corrections] == ["11"]
    assert result.skipped_statuses == 1


def test_old_mastodon_reports_without_rules_and_numeric_ids_read() -> None:
    data = report(rules=[])
    data["id"] = 42
    del data["rules"], data["action_taken_at"], data["forwarded"], data["category"]
    result = outcome("report.created", data)  # category defaults to "other"
    assert result.corrections[0].expected_categories == ["toxic"]


def test_the_mapping_names_only_rule_ids_report_categories_and_our_categories() -> None:
    with pytest.raises(ValidationError, match="neither a rule id"):
        ReportPolicy(rule_categories={"hate": ["toxic"]})
    with pytest.raises(ValidationError, match="unknown category"):
        ReportPolicy(rule_categories={"3": ["spam"]})
    assert ReportPolicy(rule_categories={" 3 ": ["Hate_Speech"]}).rule_categories == {
        "3": ["hate_speech"]
    }
