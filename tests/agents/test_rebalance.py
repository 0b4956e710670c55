"""Where a partition handed back after a rebalance is read from again."""

from __future__ import annotations

from streams.agents.ordered_acks import OrderedAcks
from streams.agents.rebalance import seek_targets


def test_reading_starts_at_the_first_offset_not_released() -> None:
    acks: OrderedAcks[int] = OrderedAcks()
    tickets = [acks.track("p", offset, offset) for offset in range(10, 15)]
    acks.complete(tickets[0])
    acks.complete(tickets[1])  # 10 and 11 released (and published); 12 still in flight
    acks.complete(tickets[3])
    assert acks.resume_offset("p") == 12
    acks.complete(tickets[2])
    acks.complete(tickets[4])
    # All released: what comes after the last one tracked, fetched or not, is still unread.
    assert acks.resume_offset("p") == 15
    assert acks.resume_offset("never seen") is None


def test_the_target_is_what_this_worker_did_not_release_never_below_the_commit() -> None:
    targets = seek_targets(
        {"a": 12, "b": 3, "c": None, "d": None, "e": None},
        committed={"a": 10, "b": 7, "c": 40, "d": None, "e": 0},
        earliest={"d": 5, "e": 0},
    )
    # a: its unreleased records; b: another worker committed past them meanwhile; c: only
    # the commit is known; d, e: nothing committed, so the beginning (retention may have
    # moved it).
    assert targets == {"a": 12, "b": 7, "c": 40, "d": 5, "e": 0}
