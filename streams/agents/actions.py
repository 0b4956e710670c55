"""The action agent: scored records in, at most one report (or webhook) per post out.

Off unless ``STREAMS_ACTIONS_MODE`` is ``dry-run`` or ``live``. For each scored record the
policy decides whether to act (:mod:`streams.actions.policy`); the ledger says whether the
post's content was acted on already (:mod:`streams.actions.ledger`). Then:

1. the plan goes on the actions topic, acknowledged by the broker, before anything else;
2. it is read back: of two plans for one post (a rebalance), only the first is carried out;
3. in ``live`` mode the sink is called (:mod:`streams.actions.delivery`), and the outcome,
   done or failed, goes on the topic;
4. only then is the scored record's offset committed.

A crash between 1 and 3 leaves a plan without an outcome. It is never carried out again (the
reporting API is not idempotent: never twice); the next delivery of the post closes it as
failed, ``interrupted``, and counts a possibly missed report.

It runs as a task of the Faust app with its own consumer group on the scored topic, not as a
Faust stream: the stop switch and a sink's rate limit can hold it for hours, and a Faust agent
that stops reading fills the stream buffer it shares with the classifier's partitions, which
stalls the worker's one consumer. Nothing here ever stops the scoring: a sink that refuses
us (401/403/422) halts this agent with a message, anything unexpected restarts it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from pydantic import ValidationError

from streams import metrics
from streams.actions import records
from streams.actions.config import ActionsConfig
from streams.actions.delivery import Answer, Delivery, Sink, deliver
from streams.actions.ledger import Ledger
from streams.actions.mastodon import MastodonReports
from streams.actions.policy import ScoredPost, Skip, decide
from streams.actions.switch import StopSwitch, switch_record
from streams.actions.topics import ActionLog, publish, start_producer
from streams.actions.webhook import WebhookActions
from streams.agents.shutdown import ShutdownGuard
from streams.kafka.client import client_options
from streams.models.actions import SWITCH_KEY, ActionRecord, ActionSwitch
from streams.settings import Settings

log = logging.getLogger(__name__)

#: The agent may wait this long between reads (the stop switch, a day's report budget).
MAX_POLL_INTERVAL_MS: Final = 24 * 60 * 60 * 1000
RESTART_DELAY_S: Final = 5.0


class Halted(Exception):
    """The sink refused our token or requests: no action can succeed until that is fixed."""


def make_sink(config: ActionsConfig) -> Sink | None:
    if config.mode != "live":
        return None
    if config.sink == "mastodon":
        assert config.mastodon_token is not None
        return MastodonReports(config.base_url, config.mastodon_token, config.request_timeout_s)
    assert config.webhook_url is not None and config.webhook_secret is not None
    return WebhookActions(config.webhook_url, config.webhook_secret, config.request_timeout_s)


class ActionAgent:
    def __init__(self, settings: Settings, config: ActionsConfig) -> None:
        self.settings, self.config = settings, config
        self.ledger, self.switch = Ledger(), StopSwitch()
        self.log = ActionLog(
            settings, config.topic_actions, config.topic_control, self.ledger, self.switch,
            on_switch=self._on_switch,
        )  # fmt: skip
        self.sink = make_sink(config)
        self.producer: AIOKafkaProducer | None = None
        self.consumer: AIOKafkaConsumer | None = None
        self.ready = False
        self.halted: str | None = None
        self.in_flight: set[str] = set()
        self.idle = asyncio.Event()
        self.idle.set()
        self.processed: dict[TopicPartition, int] = {}
        self.committed: dict[TopicPartition, int] = {}
        self.revoked: set[TopicPartition] = set()
        self._task: asyncio.Future[None] | None = None

    # --- lifecycle -----------------------------------------------------------------------
    async def run(self) -> None:
        """The agent until the worker stops: reading, acting, and restarting after errors."""
        self._task = asyncio.current_task()
        while True:
            try:
                if not self.ready:
                    await self._open()
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Halted as exc:
                await self._halt(str(exc))
            except Exception:
                log.exception(
                    "actions: the action agent failed; it restarts in %.0f s (scoring goes on)",
                    RESTART_DELAY_S,
                )
                await asyncio.sleep(RESTART_DELAY_S)

    async def _open(self) -> None:
        self.producer = self.producer or await start_producer(self.settings)
        if not self.log.started:
            await self.log.start()
        await self.log.caught_up()
        self.ready = True
        log.info(
            "actions: %s mode, sink %s, policy %s; %d posts in the ledger; switch %s",
            self.config.mode, self.config.sink, self.config.policy.version, len(self.ledger),
            "running" if self.switch.running else "stopped",
        )  # fmt: skip

    async def stop(self) -> None:
        """On the worker's stop: end the agent, closing what the current action allows."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.consumer is not None:
            await self.consumer.stop()
        await self.log.stop()
        if self.sink is not None:
            await self.sink.close()
        if self.producer is not None:
            await self.producer.stop()

    async def _halt(self, message: str) -> None:
        self.halted = message
        metrics.ACTIONS_HALTED.labels("error").set(1)
        log.critical(
            "actions stopped: %s. Scoring goes on. Fix the configuration and restart the "
            "worker, or run `streams actions resume` to try again.", message,
        )  # fmt: skip
        generation = self.switch.generation
        while self.switch.generation == generation or not self.switch.running:
            await asyncio.sleep(0.5)
        self.halted = None
        metrics.ACTIONS_HALTED.labels("error").set(0)
        log.warning("actions: resumed after the halt; trying again")

    # --- reading the scored topic ----------------------------------------------------------
    async def _consume(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            group_id=self.config.group_id, enable_auto_commit=False,
            auto_offset_reset=self.config.start_from, max_poll_interval_ms=MAX_POLL_INTERVAL_MS,
            session_timeout_ms=int(self.settings.broker_session_timeout_s * 1000),
            heartbeat_interval_ms=int(min(3.0, self.settings.broker_session_timeout_s / 3) * 1000),
            **client_options(self.settings),
        )  # fmt: skip
        consumer.subscribe([self.config.topic_scored], listener=_Rebalance(self))
        await consumer.start()
        self.consumer = consumer
        try:
            while True:
                await self.switch.wait_running()
                batches = await consumer.getmany(timeout_ms=500, max_records=100)
                try:
                    for tp, batch in batches.items():
                        for record in batch:
                            if tp in self.revoked:
                                break
                            await self._handle_tracked(tp, record)
                except BaseException:
                    # Only what was handled: the rest of the batch is read again.
                    await asyncio.shield(self._commit_quietly())
                    raise
                await self._commit(everything=True)
        finally:
            self.consumer = None
            self.processed.clear()
            self.committed.clear()
            await consumer.stop()

    async def _handle_tracked(self, tp: TopicPartition, record: Any) -> None:
        self.idle.clear()
        try:
            await self.handle(record.value)
            self.processed[tp] = record.offset + 1
        finally:
            self.idle.set()

    async def _commit_quietly(self) -> None:
        try:
            await self._commit(everything=False)
        except Exception as exc:  # redone after the restart; the ledger keeps that harmless
            log.info("actions: commit of the handled records failed (%s)", exc)

    async def _commit(self, everything: bool) -> None:
        """Commit what is done. ``everything``: every record fetched was handled, so each
        partition's position is done too (and pins where a new group starts)."""
        consumer = self.consumer
        if consumer is None:
            return
        offsets = dict(self.processed)
        if everything:
            for tp in consumer.assignment() - self.revoked:
                offsets[tp] = await consumer.position(tp)
        due = {tp: o for tp, o in offsets.items() if self.committed.get(tp) != o}
        if due:
            await consumer.commit(due)
            self.committed.update(due)

    # --- one scored record -------------------------------------------------------------------
    async def handle(self, value: bytes | None) -> None:
        post = self._read(value)
        if post is None:
            return
        decision = decide(self.config.policy, post)
        if isinstance(decision, Skip):
            metrics.ACTION_SKIPS.labels(decision.reason).inc()
            return
        version, mode = records.content_version(post), self.config.mode
        now = datetime.now(UTC)
        plan = records.planned(
            post, decision, self.config.policy, mode=mode, sink=self.config.sink, now=now
        )
        left_open = self.ledger.open_plan(post.status_id, version) if mode == "live" else None
        if left_open is not None and left_open.action_id not in self.in_flight:
            await self._publish(records.interrupted(plan, left_open, now))
            metrics.ACTIONS.labels(self.config.sink, "failed").inc()
            metrics.ACTIONS_POSSIBLY_MISSED.labels(self.config.sink).inc()
            log.warning("actions: closed plan %s of status %s, cut off by a crash: %s",
                        left_open.action_id, post.status_id, records.INTERRUPTED)  # fmt: skip
            return
        if self.ledger.acted(mode, post.status_id, version):
            metrics.ACTION_SKIPS.labels("already_acted").inc()
            return
        await self.switch.wait_running()
        where = await self._publish(plan)
        await self.log.read_past(where.partition, where.offset)
        if not self.ledger.claim_won(plan):
            metrics.ACTION_SKIPS.labels("lost_claim").inc()
            return
        if mode == "dry-run":
            metrics.ACTIONS.labels(self.config.sink, "dry_run").inc()
            return
        metrics.ACTIONS.labels(self.config.sink, "planned").inc()
        await self._carry_out(plan)

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

    async def _carry_out(self, plan: ActionRecord) -> None:
        assert self.sink is not None
        started = time.monotonic()
        progress = Delivery(Answer("retry", "none", "not sent yet"), 0)
        progress.on_answer.append(self._count_request)
        self.in_flight.add(plan.action_id)
        try:
            delivery = await deliver(
                self.sink, plan, self.switch, max_attempts=self.config.max_attempts,
                backoff_s=self.config.backoff_s, backoff_max_s=self.config.backoff_max_s,
                progress=progress,
            )  # fmt: skip
            answer = delivery.answer
            await self._publish(records.outcome(plan, answer, delivery.attempts, datetime.now(UTC)))
        except asyncio.CancelledError:
            await self._close_unsent(plan, progress)
            raise
        finally:
            self.in_flight.discard(plan.action_id)
        metrics.ACTION_DURATION.observe(time.monotonic() - started)
        outcome = "done" if answer.kind == "done" else "failed"
        metrics.ACTIONS.labels(self.config.sink, outcome).inc()
        if answer.kind == "unknown":
            metrics.ACTIONS_POSSIBLY_MISSED.labels(self.config.sink).inc()
        if answer.kind != "done":
            log.warning("actions: status %s: %s", plan.status_id, answer.detail)
        if answer.kind == "refused":
            raise Halted(answer.detail)

    async def _close_unsent(self, plan: ActionRecord, progress: Delivery) -> None:
        """Stopped while waiting to try again: nothing was done, so say so, and a later
        delivery of the post may act. Stopped during a request: the plan stays open."""
        if progress.in_request or progress.answer.kind != "retry":
            return
        answer = Answer("failed", "stopped", "the worker stopped before the action was carried out")
        record = records.outcome(plan, answer, progress.attempts, datetime.now(UTC))
        try:
            await asyncio.wait_for(self._publish(record), 5.0)
        except Exception:
            log.warning("actions: could not record that plan %s was not carried out",
                        plan.action_id)  # fmt: skip

    async def _publish(self, record: ActionRecord) -> Any:
        assert self.producer is not None
        return await publish(
            self.producer, self.config.topic_actions, record.status_id.encode(), record.to_bytes()
        )

    def _count_request(self, answer: Answer) -> None:
        metrics.ACTION_REQUESTS.labels(self.config.sink, answer.outcome).inc()

    # --- the stop switch -------------------------------------------------------------------
    async def flip(self, state: str, origin: str, reason: str | None) -> ActionSwitch:
        """Stop or resume actions on every worker: here at once, elsewhere within a fetch."""
        record = switch_record(state, origin, reason)
        self.switch.apply(record)
        self._on_switch(record)
        assert self.producer is not None
        await publish(self.producer, self.config.topic_control, SWITCH_KEY, record.to_bytes())
        return record

    def _on_switch(self, record: ActionSwitch) -> None:
        stopped = record.state == "stopped"
        metrics.ACTIONS_HALTED.labels("stop_switch").set(1 if stopped else 0)
        log.warning("actions %s (%s): %s", record.state, record.origin, record.reason or "")

    def status(self) -> dict[str, Any]:
        return {
            "mode": self.config.mode,
            "sink": self.config.sink,
            "policy_version": self.config.policy.version,
            "ready": self.ready,
            "switch": self.switch.as_json(),
            "halted": self.halted,
            "in_flight": len(self.in_flight),
            "actions": dict(sorted(self.ledger.counts().items())),
            "invalid_records": self.log.invalid,
        }


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Commits what is done before a partition moves, so its new owner redoes little."""

    def __init__(self, agent: ActionAgent) -> None:
        self.agent = agent

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        agent = self.agent
        agent.revoked |= set(revoked)
        try:
            await asyncio.wait_for(agent.idle.wait(), 10.0)
            await agent._commit(everything=False)
        except Exception as exc:  # the new owner redoes it; the ledger keeps that harmless
            log.info("actions: commit before a rebalance failed (%s)", exc)
        for tp in revoked:
            agent.processed.pop(tp, None)
            agent.committed.pop(tp, None)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.agent.revoked -= set(assigned)


def register(app: Any, settings: Settings, guard: ShutdownGuard) -> ActionAgent | None:
    config = ActionsConfig.from_settings(settings)
    if config is None:
        return None
    reports = config.mode == "live" and config.sink == "mastodon"
    if reports and not settings.mastodon_own_account_ids:
        log.warning(
            "actions: set STREAMS_MASTODON_OWN_ACCOUNT_IDS to the bot account's id, or the "
            "reports it files come back from report.created webhooks as user reports"
        )
    runtime = ActionAgent(settings, config)
    guard.on_stop.append(runtime.stop)

    async def actions() -> None:
        guard.start()
        await runtime.run()

    app.task(actions)
    return runtime
