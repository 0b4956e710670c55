"""Webhook deliveries from the fake Mastodon server, checked with hmac/hashlib directly.

Expected behaviour: mastodon/mastodon app/workers/webhooks/delivery_worker.rb,
app/services/webhook_service.rb, app/serializers/rest/admin/report_serializer.rb
and the example payload of mastodon/documentation content/en/admin/webhooks.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

from streams.testing.mastodon import MastodonServer, build_delivery, deliver_with_retries


class Receiver:
    """A webhook endpoint on 127.0.0.1 that answers with scripted status codes."""

    def __init__(self, answers: list[int] | None = None) -> None:
        self.answers = list(answers or [])
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.read()))
        return web.Response(status=self.answers.pop(0) if self.answers else 200)


@asynccontextmanager
async def receiving(answers: list[int] | None = None) -> AsyncIterator[Receiver]:
    receiver = Receiver(answers)
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    receiver.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        yield receiver
    finally:
        await runner.cleanup()


def expected_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_a_delivery_is_signed_over_its_exact_body() -> None:
    async def scenario() -> None:
        async with receiving() as receiver:
            moment = datetime(2023, 10, 26, 13, 34, 0, 351000, tzinfo=UTC)
            delivery = build_delivery(receiver.url, "s3cret", "status.created",
                                      {"id": "1", "content": "<p>é</p>"}, created_at=moment)
            attempts = await deliver_with_retries(delivery)
        assert [a.status for a in attempts] == [200]
        headers, body = receiver.requests[0]
        assert body == ('{"event":"status.created","created_at":"2023-10-26T13:34:00.351Z",'
                        '"object":{"id":"1","content":"<p>é</p>"}}').encode()
        assert headers["X-Hub-Signature"] == expected_signature("s3cret", body)
        assert headers["Content-Type"] == "application/json"
        assert headers["User-Agent"].startswith("http.rb/")
        assert "(Mastodon/" in headers["User-Agent"]

    asyncio.run(asyncio.wait_for(scenario(), 10))


def test_redelivery_retries_server_errors_but_not_unsalvageable_answers() -> None:
    async def scenario() -> None:
        async with receiving([503, 429, 200]) as receiver:
            delivery = build_delivery(receiver.url, "k", "report.created", {"id": "7"})
            retried = await deliver_with_retries(delivery)
            assert [a.status for a in retried] == [503, 429, 200]
            bodies = {body for _, body in receiver.requests}
            assert len(bodies) == 1  # every retry carries the same signed body
        async with receiving([400, 200]) as receiver:
            delivery = build_delivery(receiver.url, "k", "report.created", {"id": "7"})
            given_up = await deliver_with_retries(delivery)
            assert [a.status for a in given_up] == [400]
        async with receiving([500] * 20) as receiver:
            delivery = build_delivery(receiver.url, "k", "report.created", {"id": "7"})
            assert len(await deliver_with_retries(delivery, retries=3)) == 4

    asyncio.run(asyncio.wait_for(scenario(), 10))


def test_filing_a_report_triggers_a_signed_report_created_webhook() -> None:
    async def scenario() -> None:
        async with MastodonServer() as server, receiving() as receiver, \
                aiohttp.ClientSession() as http:
            server.register_webhook(receiver.url, "hook-secret")
            status = server.add_status(server.new_status(text="rude"))
            token = server.add_token("write:reports")
            async with http.post(f"{server.base_url}/api/v1/reports",
                                 headers={"Authorization": f"Bearer {token.token}"},
                                 json={"account_id": status["account"]["id"],
                                       "status_ids": [status["id"]], "rule_ids": ["1"]}) as resp:
                assert resp.status == 200
                report_id = (await resp.json())["id"]
            await server.webhooks_idle()
            await server.update_report(report_id, action_taken_at=datetime.now(UTC),
                                       action_taken_by_account_id=token.account_id)
            await server.webhooks_idle()
        (headers, body), (_, updated_body) = receiver.requests
        assert headers["X-Hub-Signature"] == expected_signature("hook-secret", body)
        payload: dict[str, Any] = json.loads(body)
        assert list(payload) == ["event", "created_at", "object"]
        assert payload["event"] == "report.created"
        report = payload["object"]
        assert list(report) == [
            "id", "action_taken", "action_taken_at", "category", "comment", "forwarded",
            "created_at", "updated_at", "account", "target_account", "assigned_account",
            "action_taken_by_account", "statuses", "rules"]
        assert report["category"] == "violation"
        assert report["statuses"] == [status]
        assert report["rules"][0]["id"] == "1"
        reporter, target = report["account"], report["target_account"]
        assert reporter["domain"] is None and reporter["role"]["id"] == "-99"
        assert reporter["account"]["id"] == token.account_id
        assert target["domain"] == "remote.example" and target["email"] is None
        assert target["account"] == status["account"]
        updated = json.loads(updated_body)
        assert updated["event"] == "report.updated"
        assert updated["object"]["action_taken"] is True
        assert updated["object"]["action_taken_by_account"]["id"] == token.account_id

    asyncio.run(asyncio.wait_for(scenario(), 10))


def test_local_statuses_trigger_status_webhooks_remote_ones_do_not() -> None:
    async def scenario() -> None:
        async with MastodonServer() as server, receiving() as receiver:
            server.register_webhook(receiver.url, "x", ["status.created", "status.updated"])
            local = server.new_status(text="mine", domain=None)
            await server.publish_status(local)
            await server.publish_status(server.new_status(text="theirs"))
            await server.publish_edit(local["id"], text="mine, edited")
            await server.webhooks_idle()
        events = [json.loads(body) for _, body in receiver.requests]
        assert [e["event"] for e in events] == ["status.created", "status.updated"]
        assert events[0]["object"] == local
        assert events[1]["object"]["edited_at"] is not None

    asyncio.run(asyncio.wait_for(scenario(), 10))
