"""The at-most-once state machine: what counts as acted on, and which plan wins."""

from __future__ import annotations

from datetime import timedelta

from action_samples import NOW, plan_of, post

from streams.actions.delivery import Answer
from streams.actions.ledger import Ledger, claim_expired, send_deadline
from streams.actions.records import ABANDONED, INTERRUPTED, close_open, outcome, sending
from streams.models.actions import ActionRecord

TOXIC = {"scores": {"toxic": 0.9}}


def original(mode: str = "live") -> ActionRecord:
    return plan_of(post(**TOXIC), mode=mode)  # type: ignore[arg-type]


def edited() -> ActionRecord:
    return plan_of(post(edited=True, **TOXIC))


def done(plan: ActionRecord) -> ActionRecord:
    return outcome(plan, Answer("done", "ok", "filed", report_id="101"), 1, NOW)


def test_an_unknown_post_is_not_acted_on() -> None:
    assert not Ledger().acted("live", "109", "original")


def test_a_plan_without_outcome_counts_as_acted_and_is_open() -> None:
    ledger, plan = Ledger(), original()
    ledger.apply(plan)
    assert ledger.acted("live", "109", "original")
    assert ledger.claim_won(plan)
    entry = ledger.open_plan("109", "original")
    assert entry is not None and entry.action_id == plan.action_id
    assert entry.planned_at == plan.planned_at


def test_done_and_unknown_failures_are_final_but_refusals_may_be_retried() -> None:
    for answer, final in [
        (Answer("done", "ok", "filed", report_id="9"), True),
        (Answer("unknown", "no_answer", "timeout"), True),
        (Answer("refused", "refused", "403"), False),
        (Answer("failed", "not_found", "404"), False),
    ]:
        ledger, plan = Ledger(), original()
        ledger.apply(plan)
        ledger.apply(outcome(plan, answer, 1, NOW))
        assert ledger.acted("live", "109", "original") is final, answer
        assert ledger.open_plan("109", "original") is None


def test_a_plan_cut_off_while_sending_is_closed_and_never_retried() -> None:
    ledger, plan = Ledger(), original()
    ledger.apply(plan)
    ledger.apply(sending(plan))
    assert not ledger.claim_won(plan), "a plan being sent is not claimed again"
    entry = ledger.open_plan("109", "original")
    assert entry is not None and entry.state == "sending"
    closed = close_open(original(), entry, NOW)
    assert (closed.action_id, closed.planned_at) == (plan.action_id, plan.planned_at)
    assert (closed.reason, closed.retry_allowed) == (INTERRUPTED, False)
    ledger.apply(closed)
    assert ledger.acted("live", "109", "original") and ledger.open_plan("109", "original") is None


def test_a_plan_that_never_got_to_sending_is_abandoned_once_its_claim_expired() -> None:
    ledger, plan = Ledger(), original()
    ledger.apply(plan)
    entry = ledger.open_plan("109", "original")
    assert entry is not None and entry.state == "planned"
    assert send_deadline(plan.planned_at, 20) == plan.planned_at + timedelta(seconds=10)
    assert not claim_expired(entry, plan.planned_at + timedelta(seconds=19), 20)
    assert claim_expired(entry, plan.planned_at + timedelta(seconds=20), 20)
    closed = close_open(original(), entry, NOW)
    assert (closed.reason, closed.retry_allowed) == (ABANDONED, True)
    ledger.apply(closed)
    assert not ledger.acted("live", "109", "original")
    again = original()
    ledger.apply(again)
    assert ledger.claim_won(again)


def test_a_late_sending_record_of_a_closed_plan_changes_nothing() -> None:
    ledger, plan = Ledger(), original()
    ledger.apply(plan)
    entry = ledger.open_plan("109", "original")
    assert entry is not None
    ledger.apply(close_open(original(), entry, NOW))
    again = original()
    ledger.apply(again)
    ledger.apply(sending(plan))  # the old claimant, too late: it must not call, and did not
    assert ledger.claim_won(again)


def test_the_first_of_two_plans_wins_and_the_winner_finishes() -> None:
    ledger, first, second = Ledger(), original(), original()
    ledger.apply(first)
    ledger.apply(second)
    assert ledger.claim_won(first) and not ledger.claim_won(second)
    ledger.apply(done(first))
    assert ledger.get("live", "109") is not None
    assert ledger.get("live", "109").state == "done"  # type: ignore[union-attr]


def test_an_edit_is_new_content_but_an_old_version_redelivered_is_not() -> None:
    ledger, first = Ledger(), original()
    ledger.apply(first)
    ledger.apply(done(first))
    assert not ledger.acted("live", "109", "edited")
    second = edited()
    ledger.apply(second)
    assert ledger.claim_won(second)
    ledger.apply(done(second))
    assert ledger.acted("live", "109", "original") and ledger.acted("live", "109", "edited")
    # An outcome of the older content arriving late changes nothing.
    ledger.apply(done(first))
    assert ledger.get("live", "109").version == "edited"  # type: ignore[union-attr]


def test_after_compaction_only_the_latest_record_is_needed() -> None:
    plan = original()
    ledger = Ledger()
    ledger.apply(done(plan))  # its plan was compacted away
    assert ledger.acted("live", "109", "original")


def test_dry_runs_do_not_stop_live_actions_but_live_actions_stop_dry_runs() -> None:
    ledger, dry = Ledger(), original("dry-run")
    ledger.apply(dry)
    assert ledger.acted("dry-run", "109", "original")
    assert not ledger.acted("live", "109", "original")
    assert ledger.open_plan("109", "original") is None
    live = original()
    ledger.apply(live)
    ledger.apply(done(live))
    assert ledger.counts() == {"dry-run:planned": 1, "live:done": 1}
    other = Ledger()
    other.apply(done(live))
    assert other.acted("dry-run", "109", "original")
