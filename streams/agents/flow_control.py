"""Flow control that never throws away records of the current assignment.

Faust's stream queues are emptied whenever flow control is resumed. That is meant to drop
what was buffered for partitions a rebalance took away; Faust already empties them when it
suspends flow for the rebalance, and again on the first resume after it. But a worker
whose tables have a changelog to restore resumes twice: once to read the changelogs, and
once more after "Seek stream partitions to committed offsets". Its fetcher runs between
the two, so the stream partitions' first records are already queued when the second
resume empties the queues. Those records were fetched, are never delivered, and nothing
fetches them again: the agents ack the records after them, and the commit passes a post
that was never scored (seen as offset 8 of one raw partition after a restart on a
backlog, in about one restart of three).

Only a resume that ends a suspension empties the queues here; a resume while records are
already flowing keeps them.
"""

from __future__ import annotations

import faust
from mode.utils.queues import FlowControlEvent


class KeepQueuedWhileFlowing(FlowControlEvent):
    """Empties the managed queues on a resume only when flow was suspended."""

    def resume(self) -> None:
        if self.is_active():
            return
        super().resume()


def install(app: faust.App) -> None:
    """Give ``app`` this flow control; call before any agent, table or stream exists.

    Queues register with the flow control when they are made, so one made earlier would
    be managed by (and emptied through) Faust's own object.
    """
    app.flow_control = KeepQueuedWhileFlowing(loop=app.loop)
