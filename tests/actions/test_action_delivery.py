"""The retry loop: what is retried, what waits, what is final, and the stop switch."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

import pytest
from action_samples import plan_of, post

from streams.actions.delivery import Answer, Delivery, deliver
from streams.actions.switch import StopSwitch, switch_record
from streams.models.actions import ActionRecord, SinkName

PLAN = plan_of(post(scores={"toxic": 0.9}))


@dataclass
class ScriptedSink:
    """Answers from a script, one per request; not a fake of HTTP, a stand-in for a sink."""

    answers: deque[Answer]
    name: SinkName = "webhook"
    sent: list[float] = field(default_factory=list)
    pause: float = 0.0

    def ready_in(self) -> float:
        pause, self.pause = self.pause, 0.0
        return pause

    async def send(self, record: ActionRecord) -> Answer:
        self.sent.append(asyncio.get_running_loop().time())
        return self.answers.popleft()

    async def close(self) -> None:
        pass


def running() -> StopSwitch:
    switch = StopSwitch()
    switch.loaded()
    return switch


def run(sink: ScriptedSink, switch: StopSwitch | None = None, attempts: int = 3):  # type: ignore[no-untyped-def]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def main():  # type: ignore[no-untyped-def]
        return await deliver(
            sink, PLAN, switch or running(), max_attempts=attempts, backoff_s=1.0,
            backoff_max_s=60.0, sleep=sleep,
        )  # fmt: skip

    return asyncio.run(main()), waits


RETRY = Answer("retry", "server_error", "answered 503")
DONE = Answer("done", "ok", "filed", report_id="7")


def test_server_errors_back_off_and_then_succeed() -> None:
    sink = ScriptedSink(deque([RETRY, RETRY, DONE]))
    delivery, waits = run(sink)
    assert (delivery.answer, delivery.attempts) == (DONE, 3)
    assert len(waits) == 2 and 0.5 <= waits[0] <= 1.0 and 1.0 <= waits[1] <= 2.0


def test_rate_limits_wait_for_the_reset_and_do_not_count_as_tries() -> None:
    limited = Answer("retry", "rate_limited", "429", wait_s=4.5)
    sink = ScriptedSink(deque([limited, limited, limited, DONE]))
    sink.pause = 2.0  # X-RateLimit-Remaining: 0 on the previous answer
    delivery, waits = run(sink, attempts=2)
    assert delivery.answer == DONE and delivery.attempts == 4
    assert waits == [2.0, 4.5, 4.5, 4.5]


def test_giving_up_on_server_errors_is_a_failure_that_did_nothing() -> None:
    delivery, _ = run(ScriptedSink(deque([RETRY] * 3)), attempts=3)
    assert delivery.answer.kind == "failed" and delivery.attempts == 3
    assert "gave up after 3 tries" in delivery.answer.detail


@pytest.mark.parametrize("kind", ["refused", "failed", "unknown"])
def test_final_answers_are_not_retried(kind: str) -> None:
    answer = Answer(kind, "x", "y")  # type: ignore[arg-type]
    delivery, waits = run(ScriptedSink(deque([answer, DONE])))
    assert (delivery.answer, delivery.attempts, waits) == (answer, 1, [])


def test_no_request_starts_while_the_switch_is_off() -> None:
    async def main() -> tuple[list[float], float]:
        switch = running()
        switch.apply(switch_record("stopped", "api", "panic"))
        sink = ScriptedSink(deque([DONE]))
        task = asyncio.ensure_future(
            deliver(sink, PLAN, switch, max_attempts=1, backoff_s=1, backoff_max_s=1)
        )
        await asyncio.sleep(0.3)
        assert sink.sent == [] and not task.done()
        resumed_at = asyncio.get_running_loop().time()
        switch.apply(switch_record("running", "api", None))
        await task
        return sink.sent, resumed_at

    sent, resumed_at = asyncio.run(main())
    assert len(sent) == 1 and sent[0] >= resumed_at


def test_the_switch_stays_closed_until_the_control_topic_is_read() -> None:
    switch = StopSwitch()
    assert not switch.running
    switch.apply(switch_record("stopped", "command", None))
    switch.loaded()
    assert not switch.running and switch.as_json()["state"] == "stopped"
    switch.apply(switch_record("running", "command", None))
    assert switch.running and switch.generation == 2


def test_a_request_cancelled_on_the_wire_is_known_to_have_maybe_reached_the_sink() -> None:
    class HangingSink(ScriptedSink):
        async def send(self, record: ActionRecord) -> Answer:
            self.sent.append(0.0)
            await asyncio.sleep(10)
            return DONE

    async def main() -> Delivery:
        progress = Delivery(Answer("retry", "none", "not sent yet"), 0)
        sink = HangingSink(deque())
        task = asyncio.ensure_future(
            deliver(
                sink,
                PLAN,
                running(),
                max_attempts=1,
                backoff_s=1,
                backoff_max_s=1,
                progress=progress,
            )
        )
        await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return progress

    progress = asyncio.run(main())
    assert progress.in_request and progress.attempts == 0
