"""Where reading starts again on a partition a rebalance took away and handed back.

The consumer keeps its fetch position for a partition assigned again to the same worker: past
the records the classifier dropped at the revocation, and past those Faust had fetched and
cleared from its buffers then. Faust seeks back only to a committed offset above 0; without
one (a new group, an LLM outage since the start) those records would never be delivered
again, and the commits after them would pass them. So the classifier seeks back itself.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Mapping
from typing import Any, TypeVar, cast

import faust

log = logging.getLogger(__name__)

P = TypeVar("P", bound=Hashable)


def seek_targets(
    resume_at: Mapping[P, int | None],
    committed: Mapping[P, int | None],
    earliest: Mapping[P, int],
) -> dict[P, int]:
    """The offset to read each returned partition from: the first one this worker had not
    released (None: it had tracked none), never below the committed offset; with neither,
    the partition's beginning, as the group's ``earliest`` reset policy would."""
    targets: dict[P, int] = {}
    for tp, at in resume_at.items():
        floor = committed.get(tp) or 0
        if at is not None:
            targets[tp] = max(at, floor)
        elif floor:
            targets[tp] = floor
        elif tp in earliest:
            targets[tp] = earliest[tp]
    return targets


async def read_again(consumer: faust.types.ConsumerT, resume_at: Mapping[Any, int | None]) -> None:
    """Seek the partitions of ``resume_at`` that are assigned again. Call when the rebalance is
    complete, right before Faust resumes the partitions: earlier, table recovery's own resume
    of the fetcher undoes it."""
    assigned = consumer.assignment()
    returned = {tp: at for tp, at in resume_at.items() if tp in assigned}
    if not returned:
        return
    # Seeks the partitions with a committed offset above 0 to it, as Faust's recovery does
    # right after, and says which have one. (Faust's consumers have the method; the
    # interface type does not declare it.)
    committed = await cast(Any, consumer).seek_to_committed()
    unknown = [tp for tp, at in returned.items() if at is None and not committed.get(tp)]
    earliest = await consumer.earliest_offsets(*unknown) if unknown else {}
    targets: dict[Any, int] = seek_targets(returned, committed, earliest)
    for tp, offset in targets.items():
        await consumer.seek(tp, offset)
    log.info(
        "rebalance: reading %s again from the first offset this worker had not released",
        ", ".join(f"{tp.topic}[{tp.partition}]@{offset}" for tp, offset in targets.items()),
    )
