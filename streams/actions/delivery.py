"""Carrying out one planned action through a sink: retries, backoff, rate limits, the switch.

A sink makes one request per :meth:`Sink.send` and says what the answer means
(:class:`Answer`). This loop retries what is safe to retry: 429s wait for the server's reset
(they do not count as tries), and errors that certainly did nothing (5xx before the
application saved anything, a connection that could not be made) back off exponentially up
to ``max_attempts`` tries. An answer that leaves it open whether the sink acted (a timeout
after the request was sent, a gateway timeout) is never retried: never twice.

The stop switch is waited on right before every request, so once it is off no request
starts, whatever the loop was doing (waiting for a reset, backing off).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from streams.actions.switch import StopSwitch
from streams.ingest.mastodon.streaming import backoff_delay
from streams.models.actions import ActionRecord, SinkName

log = logging.getLogger(__name__)

#: done: the sink acted. refused: it refused us (token, scope, validation): nothing was done
#: and nothing will be until an operator fixes the configuration, so the agent stops.
#: failed: nothing was done, for this post only (e.g. it is gone). unknown: it may have acted.
#: retry: nothing was done; try again after ``wait_s`` (429) or a backoff.
AnswerKind = Literal["done", "refused", "failed", "unknown", "retry"]


@dataclass(frozen=True)
class Answer:
    """What one request's answer means. ``detail`` names no post text."""

    kind: AnswerKind
    #: For metrics: ok, rate_limited, server_error, unreachable, refused, not_found, ...
    outcome: str
    detail: str
    report_id: str | None = None
    #: A 429's wait until the server's reset, in seconds.
    wait_s: float | None = None


class Sink(Protocol):
    name: SinkName

    def ready_in(self) -> float:
        """Seconds until the server's rate limit lets the next request through."""
        ...

    async def send(self, record: ActionRecord) -> Answer:
        """Make one request for ``record`` (a plan)."""
        ...

    async def close(self) -> None: ...


@dataclass
class Delivery:
    """The final answer of one action and how many requests it took."""

    answer: Answer
    attempts: int
    #: True while a request is on the wire: cancelling then leaves the outcome unknown.
    in_request: bool = False
    waited_s: float = 0.0
    on_answer: list[Callable[[Answer], None]] = field(default_factory=list)


async def deliver(
    sink: Sink,
    record: ActionRecord,
    switch: StopSwitch,
    *,
    max_attempts: int,
    backoff_s: float,
    backoff_max_s: float,
    progress: Delivery | None = None,
    before_send: Callable[[int], Awaitable[None]] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Delivery:
    """Send ``record`` until an answer is final; ``progress`` is updated as it goes, so the
    caller can tell, if this is cancelled, whether a request was on the wire.
    ``before_send(n)`` runs right before request ``n`` (1, 2, ...), after every wait."""
    state = progress or Delivery(Answer("retry", "none", "not sent yet"), 0)
    failures = 0
    while True:
        pause = sink.ready_in()
        if pause > 0:
            log.info("actions: %s rate limit spent; waiting %.1f s for its reset", sink.name, pause)
            state.waited_s += pause
            await sleep(pause)
        await switch.wait_running()
        if before_send is not None:
            await before_send(state.attempts + 1)
        # Left set if the request is cancelled: then it may have reached the sink.
        state.in_request = True
        answer = await sink.send(record)
        state.in_request = False
        state.attempts += 1
        state.answer = answer
        for callback in state.on_answer:
            callback(answer)
        if answer.kind != "retry":
            return state
        if answer.wait_s is not None:
            # At least a second: a server whose reset lies in the past is not hammered.
            wait = max(answer.wait_s, 1.0)
        else:
            failures += 1
            if failures >= max_attempts:
                state.answer = Answer(
                    "failed", answer.outcome,
                    f"gave up after {failures} tries: {answer.detail}",
                )  # fmt: skip
                return state
            wait = backoff_delay(failures - 1, base_s=backoff_s, max_s=backoff_max_s)
        log.info(
            "actions: %s answered %s (%s); next try in %.1f s",
            sink.name, answer.outcome, answer.detail, wait,
        )  # fmt: skip
        state.waited_s += wait
        await sleep(wait)


def answer_field(body: bytes, name: str) -> str | None:
    """Field ``name`` of a JSON object answer, when it is a string or a number."""
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    value = parsed.get(name) if isinstance(parsed, dict) else None
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value)[:200]
    return None
