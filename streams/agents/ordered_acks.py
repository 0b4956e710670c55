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
from typing import Generic, NamedTuple, TypeVar

T = TypeVar("T")


class Ticket(NamedTuple):
    """Given at tracking time; hand it back to :meth:`OrderedAcks.complete`.

    A named tuple: made and hashed for every record, which a frozen dataclass does in Python.
    """

    partition: Hashable
    offset: int
    #: Tells apart two deliveries of one offset.
    serial: int


@dataclass
class _Partition(Generic[T]):
    last_offset: int = -1
    #: Tracked records in offset order, each with its token, until released.
    pending: deque[tuple[Ticket, T]] = field(default_factory=deque)
    #: The tickets in ``pending``.
    live: set[Ticket] = field(default_factory=set)
    done: set[Ticket] = field(default_factory=set)


class OrderedAcks(Generic[T]):
    """Tracks records from consumption to completion; releases their tokens in offset order."""

    def __init__(self) -> None:
        self._partitions: dict[Hashable, _Partition[T]] = {}
        self._serial = 0

    def hole_before(self, partition: Hashable, offset: int) -> int | None:
        """The first offset never delivered, if ``offset`` skips over some; else None.

        A record fetched and never delivered (see streams.agents.flow_control) is never acked, and
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

        An offset at or below the last one tracked is a redelivery from that offset on (a
        rebalance handed the partition back, a seek, or Faust's fetch loop letting the last
        record it read through again after a seek). The pending records from that offset on
        are superseded: they arrive again and are processed again. Those before it stay
        pending, because nothing delivers them again: forgetting them would hold back every
        later ack, or skip them.
        """
        state = self._partitions.setdefault(partition, _Partition())
        if offset <= state.last_offset:
            while state.pending and state.pending[-1][0].offset >= offset:
                superseded, _ = state.pending.pop()
                state.live.discard(superseded)
                state.done.discard(superseded)
        self._serial += 1
        ticket = Ticket(partition, offset, self._serial)
        state.last_offset = offset
        state.pending.append((ticket, token))
        state.live.add(ticket)
        return ticket

    def complete(self, ticket: Ticket) -> list[T]:
        """Mark a record finished; return the tokens that may now be acked, in offset order.

        A superseded record's completion releases nothing: its redelivery stands for it.
        """
        state = self._partitions.get(ticket.partition)
        if state is None or ticket not in state.live:
            return []
        state.done.add(ticket)
        released: list[T] = []
        while state.pending and state.pending[0][0] in state.done:
            head, token = state.pending.popleft()
            state.live.discard(head)
            state.done.discard(head)
            released.append(token)
        return released

    def resume_offset(self, partition: Hashable) -> int | None:
        """The first offset of ``partition`` not released yet: where reading must start again
        for nothing to be skipped (None: nothing of it was tracked)."""
        state = self._partitions.get(partition)
        if state is None or state.last_offset < 0:
            return None
        return state.pending[0][0].offset if state.pending else state.last_offset + 1

    def forget(self, partition: Hashable) -> None:
        """Drop a revoked partition; late completions for it are ignored."""
        self._partitions.pop(partition, None)

    def in_flight(self) -> int:
        return sum(len(p.pending) for p in self._partitions.values())
