"""Ordered acknowledgement: the guard against committing past unprocessed records."""

from __future__ import annotations

import random

from streams.agents.ordered_acks import OrderedAcks


def test_out_of_order_completion_releases_in_order() -> None:
    acks: OrderedAcks[int] = OrderedAcks()
    tickets = [acks.track("p0", offset, offset) for offset in range(10)]
    # The later batch (5..9) finishes first: nothing may be released, or a commit would
    # jump past 0..4.
    for ticket in tickets[5:]:
        assert acks.complete(ticket) == []
    assert acks.complete(tickets[1]) == []
    assert acks.complete(tickets[0]) == [0, 1]
    released = []
    for ticket in tickets[2:5]:
        released += acks.complete(ticket)
    assert released == [2, 3, 4, 5, 6, 7, 8, 9]
    assert acks.in_flight() == 0


def test_partitions_are_independent() -> None:
    acks: OrderedAcks[str] = OrderedAcks()
    a0 = acks.track("a", 0, "a0")
    b0 = acks.track("b", 7, "b7")
    a1 = acks.track("a", 1, "a1")
    assert acks.complete(a1) == []
    assert acks.complete(b0) == ["b7"]
    assert acks.complete(a0) == ["a0", "a1"]


def test_rewind_forgets_stale_work() -> None:
    acks: OrderedAcks[int] = OrderedAcks()
    stale = [acks.track("p", o, o) for o in (10, 11, 12)]
    # The partition is handed back and redelivered from 10.
    fresh = [acks.track("p", o, 100 + o) for o in (10, 11)]
    assert acks.complete(stale[0]) == [] and acks.complete(stale[1]) == []
    assert acks.complete(fresh[1]) == []
    assert acks.complete(fresh[0]) == [110, 111]


def test_a_redelivery_from_the_middle_keeps_what_comes_before_it() -> None:
    # After a seek Faust's fetch loop lets the last record it read through once more:
    # 2757..2790 arrive, then 2790 again. Nothing delivers 2757..2789 again, so they must
    # still be released when they finish, or every later ack waits behind them forever.
    acks: OrderedAcks[int] = OrderedAcks()
    first = [acks.track("p", o, o) for o in range(2757, 2791)]
    again = acks.track("p", 2790, 2790)
    assert acks.in_flight() == 2790 - 2757 + 1
    assert acks.complete(first[-1]) == []  # the superseded delivery releases nothing
    released = []
    for ticket in first[:-1]:
        released += acks.complete(ticket)
    assert released == list(range(2757, 2790))
    assert acks.complete(again) == [2790]
    assert acks.in_flight() == 0


def test_random_redeliveries_release_every_offset_once_in_order() -> None:
    rng = random.Random(7)
    for _ in range(300):
        acks: OrderedAcks[int] = OrderedAcks()
        deliveries: list[int] = []
        offset, end = 0, rng.randint(5, 40)
        while offset < end:  # a delivery sequence with redeliveries from random points
            deliveries.append(offset)
            offset = rng.randint(max(0, offset - 5), offset) if rng.random() < 0.1 else offset + 1
        tickets = [acks.track("p", o, o) for o in deliveries]
        released: list[int] = []
        for index in rng.sample(range(len(tickets)), len(tickets)):
            released += acks.complete(tickets[index])
        assert released == list(range(end))
        assert acks.in_flight() == 0


def test_forget_revoked_partition() -> None:
    acks: OrderedAcks[int] = OrderedAcks()
    ticket = acks.track("p", 3, 3)
    acks.forget("p")
    assert acks.complete(ticket) == []
    again = acks.track("p", 3, 33)
    assert acks.complete(again) == [33]


def test_random_completion_order_never_releases_past_a_gap() -> None:
    rng = random.Random(1)
    for _ in range(200):
        acks: OrderedAcks[int] = OrderedAcks()
        n = rng.randint(1, 40)
        tickets = [acks.track("p", o, o) for o in range(n)]
        order = list(range(n))
        rng.shuffle(order)
        finished: set[int] = set()
        released: list[int] = []
        for index in order:
            finished.add(index)
            released += acks.complete(tickets[index])
            # Everything released is finished, and is exactly a prefix of the offsets.
            assert released == list(range(len(released)))
            assert set(released) <= finished
            assert len(released) == next(o for o in range(n + 1) if o not in finished)
        assert released == list(range(n))


def test_a_jump_over_undelivered_offsets_is_a_hole() -> None:
    acks: OrderedAcks[int] = OrderedAcks()
    assert acks.hole_before("p", 5) is None  # the first record of a run may start anywhere
    for offset in range(5, 8):
        acks.track("p", offset, offset)
    assert acks.hole_before("p", 8) is None
    assert acks.hole_before("p", 10) == 8  # offsets 8 and 9 were never delivered
    assert acks.hole_before("q", 10) is None


def test_a_forgotten_partition_releases_nothing_and_frees_its_budget() -> None:
    # A rebalance revoked "p": what finishes for it later must not be published or acked,
    # and must no longer count against the read-ahead limit.
    acks: OrderedAcks[str] = OrderedAcks()
    p = [acks.track("p", o, f"p{o}") for o in (5, 6, 7)]
    q0 = acks.track("q", 0, "q0")
    assert acks.complete(p[1]) == []
    assert acks.in_flight() == 4
    acks.forget("p")
    assert acks.in_flight() == 1
    assert [acks.complete(t) for t in p] == [[], [], []]
    assert acks.complete(q0) == ["q0"]


def test_a_partition_handed_back_after_forget_starts_afresh() -> None:
    acks: OrderedAcks[int] = OrderedAcks()
    for offset in range(10, 13):
        acks.track("p", offset, offset)
    acks.forget("p")
    # Its next owner moved on; when it comes back here it starts past where this worker was:
    # no jump to report, and its records are released as they finish.
    assert acks.hole_before("p", 40) is None
    ticket = acks.track("p", 40, 40)
    assert acks.complete(ticket) == [40]
