"""The webhook sink against a receiver written here, which checks the signature with the
hmac module by hand, as the README shows, and refuses replays."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
from action_samples import plan_of, post
from aiohttp import web
from pydantic import SecretStr

from streams.actions.delivery import deliver
from streams.actions.switch import StopSwitch
from streams.actions.webhook import WebhookActions
from streams.models.actions import ActionRecord

SECRET = "receiver-secret-0123456789abcdef"
TOLERANCE_S = 300


@dataclass
class Receiver:
    """A platform's endpoint: verifies, drops repeats by action id, answers with its id."""

    clock: Callable[[], float] = time.time
    answers: list[int] = field(default_factory=list)  # statuses to answer first
    accepted: dict[str, bytes] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)
    captured: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.captured.append((dict(request.headers), body))
        if self.answers:
            return web.Response(status=self.answers.pop(0))
        timestamp = request.headers.get("X-Streams-Timestamp", "")
        given = request.headers.get("X-Streams-Signature", "")
        mac = hmac.new(SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
        expected = "sha256=" + mac.hexdigest()
        if not hmac.compare_digest(given, expected):
            self.rejected.append("signature")
            return web.Response(status=401)
        if not timestamp.isdigit() or abs(self.clock() - int(timestamp)) > TOLERANCE_S:
            self.rejected.append("old")
            return web.Response(status=401)
        action = json.loads(body)
        self.accepted.setdefault(action["action_id"], body)
        return web.json_response({"id": f"case-{len(self.accepted)}"})


Scenario = Callable[[Receiver, str, ActionRecord], Awaitable[None]]


def run(scenario: Scenario, receiver: Receiver | None = None) -> None:
    receiver = receiver or Receiver()

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/hook", receiver.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            plan = plan_of(post(scores={"threat": 0.8}))
            await asyncio.wait_for(scenario(receiver, f"http://127.0.0.1:{port}/hook", plan), 20)
        finally:
            await runner.cleanup()

    asyncio.run(main())


def sink(url: str, secret: str = SECRET) -> WebhookActions:
    return WebhookActions(url, SecretStr(secret), timeout_s=5)


def test_an_action_arrives_signed_and_is_verified_independently() -> None:
    async def scenario(receiver: Receiver, url: str, plan: ActionRecord) -> None:
        webhook = sink(url)
        try:
            answer = await webhook.send(plan)
        finally:
            await webhook.close()
        assert (answer.kind, answer.report_id) == ("done", "case-1")
        body = receiver.accepted[plan.action_id]
        assert ActionRecord.model_validate_json(body) == plan
        headers, _ = receiver.captured[0]
        assert headers["X-Streams-Action-Id"] == plan.action_id
        assert headers["Content-Type"] == "application/json"
        assert abs(int(headers["X-Streams-Timestamp"]) - time.time()) < 5

    run(scenario)


def test_retries_are_signed_afresh_with_the_same_body() -> None:
    async def scenario(receiver: Receiver, url: str, plan: ActionRecord) -> None:
        receiver.answers = [503, 429]
        switch = StopSwitch()
        switch.loaded()
        webhook = sink(url)
        try:
            delivery = await deliver(webhook, plan, switch, max_attempts=3, backoff_s=0.05,
                                     backoff_max_s=0.1)  # fmt: skip
        finally:
            await webhook.close()
        assert (delivery.answer.kind, delivery.attempts) == ("done", 3)
        bodies = {body for _, body in receiver.captured}
        assert len(bodies) == 1 and len(receiver.accepted) == 1

    run(scenario)


def test_a_wrong_secret_is_refused_and_a_replay_with_an_old_timestamp_is_rejected() -> None:
    now = [time.time()]
    receiver = Receiver(clock=lambda: now[0])

    async def scenario(receiver: Receiver, url: str, plan: ActionRecord) -> None:
        wrong = sink(url, "not-the-receivers-secret")
        try:
            answer = await wrong.send(plan)
        finally:
            await wrong.close()
        assert answer.kind == "refused" and receiver.rejected == ["signature"]

        right = sink(url)
        try:
            assert (await right.send(plan)).kind == "done"
        finally:
            await right.close()
        headers, body = receiver.captured[-1]
        now[0] += 2 * TOLERANCE_S  # the same request, captured and sent again later
        replay = {k: v for k, v in headers.items() if k.startswith("X-Streams")}
        async with (
            aiohttp.ClientSession() as http,
            http.post(url, data=body, headers=replay) as response,
        ):
            assert response.status == 401
        assert receiver.rejected == ["signature", "old"]

    run(scenario, receiver)
