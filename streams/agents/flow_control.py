"""Flow control and fetching that never throw away records of the current assignment.

**Queues emptied on a resume.** Faust's stream queues are emptied whenever flow control is
resumed. That is meant to drop what was buffered for partitions a rebalance took away; Faust
already empties them when it suspends flow for the rebalance, and again on the first resume
after it. But a worker whose tables have a changelog to restore resumes twice: once to read
the changelogs, and once more after "Seek stream partitions to committed offsets". Its fetcher
runs between the two, so the stream partitions' first records are already queued when the
second resume empties the queues. Those records were fetched, are never delivered, and nothing
fetches them again: the agents ack the records after them, and the commit passes a post that
was never scored (seen as offset 8 of one raw partition after a restart on a backlog, in about
one restart of three). Only a resume that ends a suspension empties the queues here; a resume
while records are already flowing keeps them.

**Records fetched for partitions nobody asked for.** Faust's fetcher hands aiokafka its own
set of active partitions, the very object that pausing and resuming change, and aiokafka
reads it again whenever a fetch response wakes it up, from the consumer's thread. aiokafka
takes an empty set for "every partition". A changelog restore empties that set under a
waiting fetch ("Done reading from changelog topics" pauses the changelogs while the stream
partitions are still paused), so aiokafka hands over every record it had buffered, the stream
partitions' included, and moves their positions past them; Faust then drops them unseen,
their partitions not being active. Seeking to the committed offset brings them back, but only
when there is one: a worker assigned a partition nothing was ever committed on (a new group,
or an LLM outage since the start) read nothing of what was already there (in about half the
runs of tests/agents/test_llm_outage.py's rebalance test), and with new records arriving it
would have read and committed past them. So the fetcher asks aiokafka for a copy taken when
it asks, and asks for nothing when that copy is empty.

**Records fetched while flow is stopped.** A fetch can be waiting when a rebalance stops the
flow; what it returns then, Faust drops and answers by seeking to the committed offsets. A
partition nothing was committed on keeps its position past the dropped records, so they were
never read (tests/agents/test_llm_outage.py's rebalance test, in two runs of three once the
app had no tables whose restore would seek again). The fetcher puts such records back: each
still-assigned partition seeks to the first offset it was handed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from typing import Any

import faust
from faust.transport.drivers import aiokafka as aiokafka_driver
from mode.utils.queues import FlowControlEvent


class KeepQueuedWhileFlowing(FlowControlEvent):
    """Empties the managed queues on a resume only when flow was suspended."""

    def resume(self) -> None:
        if self.is_active():
            return
        super().resume()


class FetchOnlyAsked(aiokafka_driver.Consumer):
    """Faust's aiokafka consumer, fetching records only of the partitions active when asked."""

    async def _getmany(self, active_partitions: Set[Any] | None, timeout: float) -> Any:
        if active_partitions is None:  # a client-only app: every partition, as Faust means it
            return await super()._getmany(None, timeout)
        asked = set(active_partitions)
        if not asked:
            return {}
        records = await super()._getmany(asked, timeout)
        if records and not self.flow_active:
            await self._put_back(records)
            return {}
        return records

    async def _put_back(self, records: Mapping[Any, Sequence[Any]]) -> None:
        assigned = self.assignment()
        for tp, fetched in records.items():
            if fetched and tp in assigned:
                await self.seek(tp, fetched[0].offset)


def install(app: faust.App) -> None:
    """Give ``app`` this flow control and fetching; call before any agent, table or stream exists.

    Queues register with the flow control when they are made, so one made earlier would
    be managed by (and emptied through) Faust's own object; the consumer is made from the
    transport's class when first used.
    """
    app.flow_control = KeepQueuedWhileFlowing(loop=app.loop)
    transport = app.transport
    if not isinstance(transport, aiokafka_driver.Transport):
        raise TypeError(f"the worker needs Faust's aiokafka transport, not {type(transport)}")
    # Faust makes the consumer from ``self.Consumer``: set on the instance, it changes this
    # app's transport only (mypy objects to shadowing a class variable).
    transport.Consumer = FetchOnlyAsked  # type: ignore[misc]
