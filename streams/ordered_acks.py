"""Releases consumed records for acknowledgement strictly in offset order, per partition.

Batches finish out of order (a slow LLM call, a retry). Faust's consumer commits the highest
acked offset of the first run of consecutive acks, and when a partition has no committed
offset yet (a new consumer group) or its committed offset is 0 it does not check for a gap at
the head of that run: acking offsets 5..9 before 0..4 commits 10 and loses 0..4 on a crash
(faust-streaming #606). Acking only the finished prefix of each partition never leaves such
a gap, whatever Faust does with it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class _Partition(Generic[T]):
    generation: int = 0
    last_offset: int = -1
    #: Tracked offsets in consumption order, each with its token, until released.
    pending: deque[tuple[int, T]] = field(default_factory=deque)
    done: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class Ticket:
    """Given at tracking time; hand it back to :meth:`OrderedAcks.complete`."""

    partition: Hashable
    offset: int
    generation: int


class OrderedAcks(Generic[T]):
    """Tracks records from consumption to completion; releases their tokens in offset order."""

    def __init__(self) -> None:
        self._partitions: dict[Hashable, _Partition[T]] = {}

    def hole_before(self, partition: Hashable, offset: int) -> int | None:
        """The first offset never delivered, if ``offset`` skips over some; else None.

        A record fetched and never delivered (see streams.flow_control) is never acked, and
        Faust's gap check at the head of the acked offsets can still commit past it: it is
        skipped when nothing is committed yet (#606) and misses a hole of one record. The
        agents report every jump. A transaction marker looks the same. The first record
        of a run may start anywhere.
        """
        state = self._partitions.get(partition)
        if state is None or state.last_offset < 0 or offset <= state.last_offset + 1:
            return None
        return state.last_offset + 1

    def track(self, partition: Hashable, offset: int, token: T) -> Ticket:
        """Record that ``offset`` of ``partition`` was consumed and is being processed.

        An offset at or below the last one tracked means the partition was rewound (a
        rebalance handed it back, or a seek): everything still pending for it is forgotten,
        because those records are being delivered again and will be processed again.
        """
        state = self._partitions.setdefault(partition, _Partition())
        if offset <= state.last_offset:
            state.generation += 1
            state.pending.clear()
            state.done.clear()
        state.last_offset = offset
        state.pending.append((offset, token))
        return Ticket(partition, offset, state.generation)

    def complete(self, ticket: Ticket) -> list[T]:
        """Mark a record finished; return the tokens that may now be acked, in offset order."""
        state = self._partitions.get(ticket.partition)
        if state is None or ticket.generation != state.generation:
            return []  # from before a rewind: its record is being processed again
        state.done.add(ticket.offset)
        released: list[T] = []
        while state.pending and state.pending[0][0] in state.done:
            offset, token = state.pending.popleft()
            state.done.discard(offset)
            released.append(token)
        return released

    def forget(self, partition: Hashable) -> None:
        """Drop a revoked partition; late completions for it are ignored."""
        state = self._partitions.get(partition)
        if state is not None:
            state.generation += 1
            state.pending.clear()
            state.done.clear()
            state.last_offset = -1

    def in_flight(self) -> int:
        return sum(len(p.pending) for p in self._partitions.values())
