"""One scored record through the action agent: decide, claim, send, record the outcome.

1. The policy decides whether to act; the ledger whether the post's content was acted on.
2. The plan (a claim) goes on the actions topic, acknowledged by the broker, and is read
   back: of two plans for one post (a rebalance), only the first is carried out.
3. ``sending`` goes on the topic right before the first call, if the claim is still fresh
   (half the claim timeout); then the sink is called and the outcome recorded.

After a crash, the next delivery of the post finds its plan open. Still ``planned``: the
call was never made, and once the claim has expired the plan is closed as ``abandoned`` and
the post acted on anew. ``sending``: the call may have been made, so it is closed as
``interrupted`` and never made again (the reporting API is not idempotent: never twice),
counted as a possibly missed report.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from pydantic import ValidationError

from streams import metrics
from streams.actions import records
from streams.actions.config import ActionsConfig
from streams.actions.delivery import Answer, Delivery, Sink, deliver
from streams.actions.ledger import Ledger, claim_expired, send_deadline
from streams.actions.policy import Plan, ScoredPost, Skip, decide
from streams.actions.switch import StopSwitch
from streams.actions.topics import ActionLog
from streams.models.actions import ActionRecord

log = logging.getLogger(__name__)

#: Claims one record may make in a row when each expires before its call (a stop meanwhile).
MAX_CLAIMS: Final = 3


class Halted(Exception):
    """The sink refused our token or requests: no action can succeed until that is fixed."""


class ClaimExpired(Exception):
    """The plan was too old to start sending: someone else may act on it now."""


class ClaimedActions:
    """Acts on scored records, one at a time, through the ledger's claims."""

    def __init__(
        self,
        config: ActionsConfig,
        ledger: Ledger,
        switch: StopSwitch,
        action_log: ActionLog,
        sink: Sink | None,
        publish: Callable[[ActionRecord], Awaitable[Any]],
    ) -> None:
        self.config, self.ledger, self.switch, self.log = config, ledger, switch, action_log
        self.sink, self._publish = sink, publish
        self.in_flight: set[str] = set()

    async def handle(self, value: bytes | None) -> None:
        post = self._read(value)
        if post is None:
            return
        decision = decide(self.config.policy, post)
        if isinstance(decision, Skip):
            metrics.ACTION_SKIPS.labels(decision.reason).inc()
            return
        for _ in range(MAX_CLAIMS):
            if not await self._act(post, decision):
                return
        log.warning("actions: status %s: its claims kept expiring; left for its next delivery",
                    post.status_id)  # fmt: skip

    def _read(self, value: bytes | None) -> ScoredPost | None:
        if value is None:
            metrics.ACTION_SKIPS.labels("deleted").inc()
            return None
        try:
            return ScoredPost.model_validate_json(value)
        except ValidationError as exc:
            metrics.ACTION_SKIPS.labels("invalid").inc()
            log.warning("actions: a scored record is not valid and was left out: %s",
                        exc.errors()[0]["msg"])  # fmt: skip
            return None

    async def _act(self, post: ScoredPost, decision: Plan) -> bool:
        """Act on ``post`` once; True when the claim expired and should be made again."""
        mode, version = self.config.mode, records.content_version(post)
        if mode == "live" and not await self._settle_open_plan(post, decision):
            return False
        if self.ledger.acted(mode, post.status_id, version):
            metrics.ACTION_SKIPS.labels("already_acted").inc()
            return False
        await self._pace()
        plan = self._plan(post, decision)
        await self._applied(plan)
        if not self.ledger.claim_won(plan):
            metrics.ACTION_SKIPS.labels("lost_claim").inc()
            return False
        if mode == "dry-run":
            metrics.ACTIONS.labels(self.config.sink, "dry_run").inc()
            return False
        metrics.ACTIONS.labels(self.config.sink, "planned").inc()
        return await self._carry_out(plan)

    def _plan(self, post: ScoredPost, decision: Plan) -> ActionRecord:
        return records.planned(
            post, decision, self.config.policy, mode=self.config.mode, sink=self.config.sink,
            now=datetime.now(UTC),
        )  # fmt: skip

    async def _settle_open_plan(self, post: ScoredPost, decision: Plan) -> bool:
        """Close a plan a crash left open; False when the post is done with."""
        entry = self.ledger.open_plan(post.status_id, records.content_version(post))
        if entry is None or entry.action_id in self.in_flight:
            return True
        if entry.state == "planned":
            # Its claimant may start sending until half the timeout: wait out the rest.
            timeout = self.config.claim_timeout_s
            if not claim_expired(entry, datetime.now(UTC), timeout):
                assert entry.planned_at is not None
                expiry = entry.planned_at + timedelta(seconds=timeout)
                await asyncio.sleep(max(0.0, (expiry - datetime.now(UTC)).total_seconds()))
            await self.log.caught_up()
            if self.ledger.open_plan(post.status_id, entry.version) != entry:
                return True  # its claimant got on with it after all
        closed = records.close_open(self._plan(post, decision), entry, datetime.now(UTC))
        await self._applied(closed)
        if entry.state == "planned":
            log.info("actions: status %s: %s", post.status_id, records.ABANDONED)
            return True
        metrics.ACTIONS.labels(self.config.sink, "failed").inc()
        metrics.ACTIONS_POSSIBLY_MISSED.labels(self.config.sink).inc()
        log.warning("actions: status %s: %s", post.status_id, records.INTERRUPTED)
        return False

    async def _pace(self) -> None:
        """Wait for the sink's rate limit and the switch before claiming, not after."""
        pause = self.sink.ready_in() if self.sink is not None else 0.0
        if pause > 0:
            log.info("actions: rate limit spent; waiting %.1f s for its reset", pause)
            await asyncio.sleep(pause)
        await self.switch.wait_running()

    async def _applied(self, record: ActionRecord) -> None:
        """Publish ``record`` and return once the ledger has it."""
        where = await self._publish(record)
        await self.log.read_past(where.partition, where.offset)

    async def _carry_out(self, plan: ActionRecord) -> bool:
        """Send ``plan``; True when its claim expired before the first call."""
        assert self.sink is not None
        started = time.monotonic()
        progress = Delivery(Answer("retry", "none", "not sent yet"), 0)
        progress.on_answer.append(self._count_request)
        deadline = send_deadline(plan.planned_at, self.config.claim_timeout_s)

        async def before_send(attempt: int) -> None:
            if attempt == 1:
                if datetime.now(UTC) > deadline:
                    raise ClaimExpired
                await self._publish(records.sending(plan))
                if datetime.now(UTC) > deadline:
                    raise ClaimExpired

        self.in_flight.add(plan.action_id)
        try:
            delivery = await deliver(
                self.sink, plan, self.switch, max_attempts=self.config.max_attempts,
                backoff_s=self.config.backoff_s, backoff_max_s=self.config.backoff_max_s,
                progress=progress, before_send=before_send,
            )  # fmt: skip
            answer = delivery.answer
            await self._publish(records.outcome(plan, answer, delivery.attempts, _now()))
        except ClaimExpired:
            expired = Answer("failed", "expired", "the claim expired before the call was made")
            await self._applied(records.outcome(plan, expired, 0, _now()))
            return True
        except asyncio.CancelledError:
            await self._close_unsent(plan, progress)
            raise
        finally:
            self.in_flight.discard(plan.action_id)
        self._observe(plan, answer, time.monotonic() - started)
        if answer.kind == "refused":
            raise Halted(answer.detail)
        return False

    def _observe(self, plan: ActionRecord, answer: Answer, seconds: float) -> None:
        metrics.ACTION_DURATION.observe(seconds)
        outcome = "done" if answer.kind == "done" else "failed"
        metrics.ACTIONS.labels(self.config.sink, outcome).inc()
        if answer.kind == "unknown":
            metrics.ACTIONS_POSSIBLY_MISSED.labels(self.config.sink).inc()
        if answer.kind != "done":
            log.warning("actions: status %s: %s", plan.status_id, answer.detail)

    async def _close_unsent(self, plan: ActionRecord, progress: Delivery) -> None:
        """Stopped while waiting to send (again): nothing was done, so say so, and a later
        delivery of the post may act. Stopped during a request: the plan stays open."""
        if progress.in_request or progress.answer.kind != "retry":
            return
        answer = Answer("failed", "stopped", "the worker stopped before the action was carried out")
        try:
            await asyncio.wait_for(
                self._publish(records.outcome(plan, answer, progress.attempts, _now())), 5.0
            )
        except Exception:
            log.warning("actions: could not record that plan %s was not carried out",
                        plan.action_id)  # fmt: skip

    def _count_request(self, answer: Answer) -> None:
        metrics.ACTION_REQUESTS.labels(self.config.sink, answer.outcome).inc()


def _now() -> datetime:
    return datetime.now(UTC)
