"""The action agent: scored records in, at most one report (or webhook) per post out.

Off unless ``STREAMS_ACTIONS_MODE`` is ``dry-run`` or ``live``. Every worker follows the
whole actions and control topics (the ledger and the stop switch); the scored topic's
partitions are shared by the workers' action consumers (their own group). Each record is
acted on as :mod:`streams.agents.action_claims` says, and its offset is committed only once
the outcome is on the actions topic, so a crash redelivers it and the ledger decides again.

It runs as a task of the Faust app with its own consumer group on the scored topic, not as a
Faust stream: the stop switch and a sink's rate limit can hold it for hours, and a Faust agent
that stops reading fills the stream buffer it shares with the classifier's partitions, which
stalls the worker's one consumer. Nothing here ever stops the scoring: a sink that refuses
us (401/403/422) halts this agent with a message, anything unexpected restarts it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition

from streams import metrics
from streams.actions.config import ActionsConfig
from streams.actions.delivery import Sink
from streams.actions.ledger import Ledger
from streams.actions.mastodon import MastodonReports
from streams.actions.switch import StopSwitch, switch_record
from streams.actions.topics import ActionLog, publish
from streams.actions.webhook import WebhookActions
from streams.agents.action_claims import ClaimedActions, Halted
from streams.agents.shutdown import ShutdownGuard
from streams.kafka.client import client_options, start_producer
from streams.models.actions import SWITCH_KEY, ActionRecord, ActionSwitch
from streams.settings import Settings

log = logging.getLogger(__name__)

#: The agent may wait this long between reads (the stop switch, a day's report budget).
MAX_POLL_INTERVAL_MS: Final = 24 * 60 * 60 * 1000
RESTART_DELAY_S: Final = 5.0
#: How long a stopping worker lets the current action finish before cancelling it.
STOP_GRACE_S: Final = 5.0


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
        self.claims = ClaimedActions(
            config, self.ledger, self.switch, self.log, self.sink, self._publish
        )
        self.idle = asyncio.Event()
        self.idle.set()
        self.processed: dict[TopicPartition, int] = {}
        self.committed: dict[TopicPartition, int] = {}
        self.revoked: set[TopicPartition] = set()
        self._task: asyncio.Future[None] | None = None
        self.stopping = False

    # --- lifecycle -----------------------------------------------------------------------
    async def run(self) -> None:
        """The agent until the worker stops: reading, acting, and restarting after errors."""
        self._task = asyncio.current_task()
        while not self.stopping:
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
        """On the worker's stop: let the current action finish, then end the agent.

        Cancelling a report on the wire would leave open whether it was filed (a report
        possibly missed); an action still waiting to be sent is closed as not carried out.
        """
        self.stopping = True
        task = self._task
        if task is not None and not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), STOP_GRACE_S)
            except Exception:  # not finished in time (or failed): cancel it
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
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
            while not self.stopping:
                await self.switch.wait_running()
                batches = await consumer.getmany(timeout_ms=500, max_records=100)
                try:
                    for tp, batch in batches.items():
                        for record in batch:
                            if tp in self.revoked or self.stopping:
                                break
                            await self._handle_tracked(tp, record)
                except BaseException:
                    # Only what was handled: the rest of the batch is read again.
                    await asyncio.shield(self._commit_quietly())
                    raise
                if self.stopping:
                    await self._commit_quietly()
                    return
                await self._commit(everything=True)
        finally:
            self.consumer = None
            self.processed.clear()
            self.committed.clear()
            await consumer.stop()

    async def _handle_tracked(self, tp: TopicPartition, record: Any) -> None:
        self.idle.clear()
        try:
            await self.claims.handle(record.value)
            self.processed[tp] = record.offset + 1
        finally:
            self.idle.set()

    async def _commit_quietly(self) -> None:
        try:
            await self._commit(everything=False)
        except Exception as exc:  # redone after the restart; the ledger keeps that harmless
            log.info("actions: commit of the handled records failed (%s)", exc)

    async def _commit(self, everything: bool, leaving: set[TopicPartition] | None = None) -> None:
        """Commit what is done. ``everything``: every record fetched was handled, so each
        partition's position is done too (and pins where a new group starts). ``leaving``:
        only these partitions, which a rebalance is taking away."""
        consumer = self.consumer
        if consumer is None:
            return
        owned = leaving if leaving is not None else consumer.assignment() - self.revoked
        offsets = {tp: o for tp, o in self.processed.items() if tp in owned}
        if everything:
            for tp in owned:
                offsets[tp] = await consumer.position(tp)
        due = {tp: o for tp, o in offsets.items() if self.committed.get(tp) != o}
        if due:
            await consumer.commit(due)
            self.committed.update(due)

    async def _publish(self, record: ActionRecord) -> Any:
        assert self.producer is not None
        return await publish(
            self.producer, self.config.topic_actions, record.status_id.encode(), record.to_bytes()
        )

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
            "in_flight": len(self.claims.in_flight),
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
            await agent._commit(everything=False, leaving=set(revoked))
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
