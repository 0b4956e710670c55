"""Filing reports against the fake Mastodon server with a plain aiohttp client.

Expected behaviour: mastodon/mastodon app/controllers/api/v1/reports_controller.rb,
app/services/report_service.rb, app/models/report.rb, Doorkeeper's checks, and
the 422 examples of mastodon/documentation content/en/methods/reports.md.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from streams.testing.mastodon import MastodonServer
from streams.testing.mastodon.entities import JSONDict

Scenario = Callable[[MastodonServer, aiohttp.ClientSession], Awaitable[None]]


def run(scenario: Scenario) -> None:
    async def main() -> None:
        async with MastodonServer() as server, aiohttp.ClientSession() as http:
            await asyncio.wait_for(scenario(server, http), timeout=10)

    asyncio.run(main())


async def report(server: MastodonServer, http: aiohttp.ClientSession, token: str | None,
                 *, form: list[tuple[str, str]] | None = None, json: JSONDict | None = None,
                 ) -> tuple[int, Any, dict[str, str]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.post(f"{server.base_url}/api/v1/reports", data=form, json=json,
                         headers=headers) as resp:
        return resp.status, await resp.json(content_type=None), dict(resp.headers)


def reporter(server: MastodonServer, scopes: str = "write:reports") -> str:
    return server.add_token(scopes).token


def test_a_report_with_statuses_returns_the_report_entity() -> None:
    async def scenario(server: MastodonServer, http: aiohttp.ClientSession) -> None:
        status = server.add_status(server.new_status(text="spam spam"))
        target = status["account"]
        code, body, headers = await report(server, http, reporter(server), form=[
            ("account_id", target["id"]), ("status_ids[]", status["id"]),
            ("comment", "Spam account"), ("category", "spam"), ("forward", "true")])
        assert code == 200
        assert list(body) == ["id", "action_taken", "action_taken_at", "category", "comment",
                              "forwarded", "created_at", "status_ids", "rule_ids",
                              "target_account"]
        assert body["category"] == "spam" and body["comment"] == "Spam account"
        assert body["status_ids"] == [status["id"]] and body["rule_ids"] is None
        assert body["forwarded"] is True and body["action_taken"] is False
        assert body["target_account"] == target
        assert headers["X-RateLimit-Limit"] in ("300", "400")
        call = server.rest.calls[-1]
        assert call.endpoint == "reports" and call.status == 200
        assert call.params["status_ids"] == [status["id"]]
        assert call.headers["Authorization"].startswith("Bearer ")

    run(scenario)


def test_json_bodies_and_rule_ids_make_a_violation() -> None:
    async def scenario(server: MastodonServer, http: aiohttp.ClientSession) -> None:
        target = server.new_status()["account"]
        code, body, _ = await report(server, http, reporter(server), json={
            "account_id": target["id"], "category": "spam", "rule_ids": ["1", "3"]})
        assert code == 200
        assert (body["category"], body["rule_ids"], body["status_ids"]) == (
            "violation", ["1", "3"], [])

    run(scenario)


@pytest.mark.parametrize(("length", "expected"), [(1000, 200), (1001, 422)])
def test_comment_limit_is_1000_characters(length: int, expected: int) -> None:
    async def scenario(server: MastodonServer, http: aiohttp.ClientSession) -> None:
        target = server.new_status()["account"]
        code, body, _ = await report(server, http, reporter(server), json={
            "account_id": target["id"], "comment": "ä" * length})
        assert code == expected
        if expected == 422:
            assert body == {"error": "Validation failed: Comment is too long "
                                     "(maximum is 1000 characters)"}

    run(scenario)


def test_unknown_targets_and_foreign_statuses_are_not_found() -> None:
    async def scenario(server: MastodonServer, http: aiohttp.ClientSession) -> None:
        token = reporter(server)
        mine = server.add_status(server.new_status(username="bob"))
        theirs = server.add_status(server.new_status(username="carol"))
        not_found = {"error": "Record not found"}
        cases: list[JSONDict] = [
            {"account_id": "999"},
            {"comment": "no account"},
            {"account_id": mine["account"]["id"], "status_ids": ["12345"]},
            {"account_id": mine["account"]["id"], "status_ids": [theirs["id"]]},
        ]
        for params in cases:
            assert (await report(server, http, token, json=params))[:2] == (404, not_found)
        deleted = server.add_status(server.new_status(username="bob"))
        await server.publish_delete(deleted["id"])
        ok = await report(server, http, token,
                          json={"account_id": mine["account"]["id"], "status_ids": [deleted["id"]]})
        assert ok[0] == 200

    run(scenario)


def test_violation_needs_valid_rules() -> None:
    async def scenario(server: MastodonServer, http: aiohttp.ClientSession) -> None:
        token, target = reporter(server), server.new_status()["account"]["id"]
        invalid = {"error": "Validation failed: Rule ids does not reference valid rules"}
        for params in ({"category": "violation"}, {"rule_ids": ["1", "77"]}):
            code, body, _ = await report(server, http, token,
                                         json={"account_id": target, **params})
            assert (code, body) == (422, invalid)

    run(scenario)


def test_token_problems_answer_as_doorkeeper_and_mastodon_do() -> None:
    async def scenario(server: MastodonServer, http: aiohttp.ClientSession) -> None:
        target = {"account_id": server.new_status()["account"]["id"]}
        code, body, headers = await report(server, http, "bogus", json=target)
        assert (code, body) == (401, {"error": "The access token is invalid"})
        assert headers["WWW-Authenticate"] == (
            'Bearer realm="Doorkeeper", error="invalid_token", '
            'error_description="The access token is invalid"')
        assert (await report(server, http, None, json=target))[0] == 401
        code, body, headers = await report(server, http, reporter(server, "read write:statuses"),
                                           json=target)
        assert (code, body) == (403, {"error": "This action is outside the authorized scopes"})
        assert "WWW-Authenticate" not in headers
        assert (await report(server, http, reporter(server, "write"), json=target))[0] == 200
        app_token = server.add_token("write:reports", app_only=True).token
        assert (await report(server, http, app_token, json=target))[:2] == (
            422, {"error": "This method requires an authenticated user"})

    run(scenario)


def test_injected_report_faults_and_the_daily_report_budget() -> None:
    async def scenario(server: MastodonServer, http: aiohttp.ClientSession) -> None:
        token, target = reporter(server), {"account_id": server.new_status()["account"]["id"]}
        server.faults.inject("reports", 429, limit=400, period=86_400)
        server.faults.inject("reports", 500)
        server.faults.inject("reports", 422, times=2)
        code, body, headers = await report(server, http, token, json=target)
        assert (code, body, headers["X-RateLimit-Remaining"]) == (
            429, {"error": "Too many requests"}, "0")
        assert headers["X-RateLimit-Reset"].endswith("T00:00:00.000000Z")
        async with http.post(f"{server.base_url}/api/v1/reports", json=target,
                             headers={"Authorization": f"Bearer {token}"}) as resp:
            assert resp.status == 500
        assert [(await report(server, http, token, json=target))[0] for _ in range(3)] == [
            422, 422, 200]
        server.limiter.set_family("reports", 2, 86_400)
        code, _, headers = await report(server, http, token, json=target)
        assert (code, headers["X-RateLimit-Limit"], headers["X-RateLimit-Remaining"]) == (
            200, "2", "1")
        assert (await report(server, http, token, json=target))[0] == 200
        assert (await report(server, http, token, json=target))[:2] == (
            429, {"error": "Too many requests"})
        assert len(server.state.reports) == 3

    run(scenario)


def test_a_category_outside_the_enum_is_a_server_error() -> None:
    async def scenario(server: MastodonServer, http: aiohttp.ClientSession) -> None:
        target = server.new_status()["account"]["id"]
        code, _, _ = await report(server, http, reporter(server),
                                  json={"account_id": target, "category": "rude"})
        assert code == 500
        assert server.state.reports == {}

    run(scenario)


def test_a_429_can_reset_seconds_from_now_and_reports_can_be_slow() -> None:
    async def scenario(server: MastodonServer, http: aiohttp.ClientSession) -> None:
        token, target = reporter(server), {"account_id": server.new_status()["account"]["id"]}
        server.faults.inject("reports", 429, reset_in_s=2.0)
        code, _, headers = await report(server, http, token, json=target)
        assert (code, headers["X-RateLimit-Remaining"]) == (429, "0")
        reset = datetime.fromisoformat(headers["X-RateLimit-Reset"].replace("Z", "+00:00"))
        assert 1.0 < (reset - datetime.now(UTC)).total_seconds() <= 2.0
        server.faults.set_latency("reports", 0.3)
        started = time.monotonic()
        assert (await report(server, http, token, json=target))[0] == 200
        assert time.monotonic() - started >= 0.3

    run(scenario)
