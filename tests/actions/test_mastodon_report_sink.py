"""The Mastodon sink against the local Mastodon server: what it files, and what each answer
means."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
from action_samples import plan_of, policy, post
from pydantic import SecretStr

from streams.actions.delivery import deliver
from streams.actions.mastodon import MastodonReports, interpret
from streams.actions.switch import StopSwitch
from streams.models.actions import ActionRecord
from streams.testing.mastodon import MastodonServer

Scenario = Callable[[MastodonServer, MastodonReports, ActionRecord], Awaitable[None]]


def run(scenario: Scenario, scopes: str = "write:reports", **scores: float) -> None:
    async def main() -> None:
        async with MastodonServer() as server:
            status = server.add_status(server.new_status(text="hidden words"))
            scored = post(
                str(status["id"]), account_id=str(status["account"]["id"]),
                scores=scores or {"racism": 0.9},
            )  # fmt: skip
            plan = plan_of(scored, policy(rule_ids={"racism": ["1"], "threat": ["404"]}))
            sink = MastodonReports(
                server.base_url, SecretStr(server.add_token(scopes).token), timeout_s=5
            )
            try:
                await asyncio.wait_for(scenario(server, sink, plan), timeout=20)
            finally:
                await sink.close()

    asyncio.run(main())


def test_a_report_names_the_author_the_post_its_rules_and_no_text() -> None:
    async def scenario(server: MastodonServer, sink: MastodonReports, plan: ActionRecord) -> None:
        answer = await sink.send(plan)
        assert answer.kind == "done" and answer.report_id is not None
        report = server.state.reports[answer.report_id]
        assert report.target_account_id == plan.account_id
        assert report.status_ids == [plan.status_id]
        assert (report.category, report.rule_ids, report.forwarded) == ("violation", ["1"], False)
        assert report.comment == plan.comment and "hidden" not in report.comment
        assert "racism 0.90" in report.comment

    run(scenario)


def test_unmapped_categories_are_reported_as_other() -> None:
    async def scenario(server: MastodonServer, sink: MastodonReports, plan: ActionRecord) -> None:
        answer = await sink.send(plan)
        report = server.state.reports[answer.report_id or ""]
        assert (report.category, report.rule_ids) == ("other", None)

    run(scenario, toxic=0.8)


def test_429s_wait_for_the_reset_and_5xx_back_off_until_the_report_is_filed() -> None:
    async def scenario(server: MastodonServer, sink: MastodonReports, plan: ActionRecord) -> None:
        server.faults.inject("reports", 429, reset_in_s=1.0)
        server.faults.inject("reports", 503)
        server.faults.inject("reports", 500)
        switch = StopSwitch()
        switch.loaded()
        started = time.monotonic()
        delivery = await deliver(sink, plan, switch, max_attempts=3, backoff_s=0.1,
                                 backoff_max_s=0.2)  # fmt: skip
        assert delivery.answer.kind == "done" and delivery.attempts == 4
        assert time.monotonic() - started >= 0.9, "the 429's reset was not waited for"
        assert len(server.state.reports) == 1
        assert [c.status for c in server.rest.calls] == [429, 503, 500, 200]

    run(scenario)


def test_a_spent_budget_is_waited_for_before_the_next_request() -> None:
    async def scenario(server: MastodonServer, sink: MastodonReports, plan: ActionRecord) -> None:
        server.limiter.set_budget(10, period=2, remaining=1)
        assert (await sink.send(plan)).kind == "done"
        assert 0 < sink.ready_in() <= 2.0

    run(scenario)


@pytest.mark.parametrize(
    ("scopes", "fault", "kind", "says"),
    [
        ("read", None, "refused", "write:reports"),
        ("write:reports", 401, "refused", "invalid or revoked"),
        ("write:reports", 422, "refused", "refused the report"),
        ("write:reports", 504, "unknown", "may exist"),
    ],
)
def test_refusals_stop_and_gateway_timeouts_are_never_retried(
    scopes: str, fault: int | None, kind: str, says: str
) -> None:
    async def scenario(server: MastodonServer, sink: MastodonReports, plan: ActionRecord) -> None:
        if fault is not None:
            server.faults.inject("reports", fault)
        answer = await sink.send(plan)
        assert (answer.kind, server.state.reports) == (kind, {})
        assert says in answer.detail

    run(scenario, scopes)


def test_a_post_the_instance_does_not_know_fails_for_that_post_only() -> None:
    async def scenario(server: MastodonServer, sink: MastodonReports, plan: ActionRecord) -> None:
        gone = plan.model_copy(update={"status_id": "1"})
        answer = await sink.send(gone)
        assert (answer.kind, answer.outcome) == ("failed", "not_found")

    run(scenario)


def test_an_instance_that_cannot_be_reached_is_retried_but_a_lost_answer_is_not() -> None:
    assert interpret(200, b'{"id": "5"}', 0).report_id == "5"
    assert interpret(200, b"<html>", 0).kind == "unknown"

    async def main() -> None:
        sink = MastodonReports("http://127.0.0.1:9", SecretStr("t" * 20), timeout_s=2)
        try:
            answer = await sink.send(plan_of(post(scores={"toxic": 0.9})))
        finally:
            await sink.close()
        assert (answer.kind, answer.outcome) == ("retry", "unreachable")

    asyncio.run(main())
