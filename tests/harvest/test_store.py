"""The harvester's in-memory state and the changelog records it writes: pure, no broker."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from streams.harvest.store import (
    CORRECTIONS,
    ERASED,
    TEXTS,
    ChangelogWrite,
    HarvestStore,
    TextTooLarge,
)
from streams.kafka.catalog import TABLE_RECORD_MAX_BYTES
from streams.kafka.partitioning import partition_for_key
from streams.models.corrections import Correction

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def correction(cid: str, status_id: str = "s1", minutes: int = 0, **extra: object) -> Correction:
    return Correction.model_validate(
        {
            "correction_id": cid,
            "status_id": status_id,
            "feedback_type": "false_negative",
            "expected_categories": ["insult"],
            "source": "user_report",
            "timestamp": T0 + timedelta(minutes=minutes),
            **extra,
        }
    )


def replay(writes: list[ChangelogWrite], partitions: int = 6, cache: int = 10) -> HarvestStore:
    """A new store restored from ``writes``, as a worker reads the changelogs back."""
    restored = HarvestStore(partitions, cache)
    for w in writes:
        restored.restore(w.table, w.partition, w.key, w.value)
    restored.restored()
    return restored


def test_a_restored_store_holds_what_the_writes_said() -> None:
    store = HarvestStore(6, 10)
    store.put_text("s1", "some post", "nl", 2)
    store.merge(correction("a"), 2)
    store.merge(correction("b", minutes=1, text="é \U0001f600"), 2)
    store.merge(correction("a"), 2)  # a redelivery
    store.put_text("s2", "gone soon", None, 3)
    store.erase("s2", 3)
    writes = store.take_writes()
    assert store.writes == []

    restored = replay(writes)
    assert restored.text_of("s1") == ("some post", "nl")
    assert restored.corrections_of("s1") == store.corrections_of("s1")
    assert [c.correction_id for c in restored.corrections_of("s1")] == ["a", "b"]
    assert restored.is_erased("s2") and restored.text_of("s2") == (None, None)
    assert not restored.is_erased("s1")


def test_records_use_json_keys_and_values() -> None:
    store = HarvestStore(6, 10)
    store.merge(correction("a"), 4)
    (write,) = store.take_writes()
    assert (write.table, write.partition, write.key) == (CORRECTIONS, 4, b'"s1"')
    assert write.value is not None
    assert [c["correction_id"] for c in json.loads(write.value)] == ["a"]


def test_erasure_tombstones_every_partition_the_post_was_stored_from() -> None:
    store = HarvestStore(6, 10)
    store.put_text("s1", "text", None, 1)
    store.merge(correction("a"), 2)
    store.take_writes()
    erasure = store.erase("s1", 5)
    assert erasure.had_text and erasure.had_corrections
    writes = store.take_writes()
    tombstoned = {(w.table, w.partition) for w in writes if w.value is None}
    own = partition_for_key(b"s1", 6)
    assert {(TEXTS, p) for p in {1, 2, 5, own}} <= tombstoned
    assert {(CORRECTIONS, p) for p in {1, 2, 5, own}} <= tombstoned
    assert [(w.table, w.partition) for w in writes if w.value is not None] == [(ERASED, 5)]


def test_the_oldest_text_is_evicted_with_a_tombstone_also_after_a_restore() -> None:
    store = HarvestStore(6, 2)
    for i in range(3):
        store.put_text(f"s{i}", f"text {i}", None, 0)
    assert store.text_of("s0") == (None, None)
    writes = store.take_writes()
    assert ChangelogWrite(TEXTS, 0, b'"s0"', None) in writes
    # Restored with a smaller bound, the oldest of what is left goes first.
    smaller = replay(writes, cache=1)
    assert smaller.text_of("s1") == (None, None) and smaller.text_of("s2") == ("text 2", None)
    assert any(w.key == b'"s1"' and w.value is None for w in smaller.take_writes())


def test_a_text_over_the_record_bound_is_refused_and_not_kept() -> None:
    store = HarvestStore(6, 10)
    with pytest.raises(TextTooLarge, match="must carry the text"):
        store.put_text("s1", "\u00e9" * TABLE_RECORD_MAX_BYTES, None, 0)
    assert store.text_of("s1") == (None, None) and store.take_writes() == []


def test_losing_a_partition_forgets_what_was_stored_from_it() -> None:
    store = HarvestStore(6, 10)
    store.put_text("s1", "text", None, 1)
    store.merge(correction("a", status_id="s2"), 2)
    store.erase("s3", 1)
    store.forget_partitions({1})
    assert store.text_of("s1") == (None, None) and not store.is_erased("s3")
    assert [c.correction_id for c in store.corrections_of("s2")] == ["a"]


def test_an_ascii_text_is_bounded_by_its_record_bytes_exactly() -> None:
    store = HarvestStore(6, 10)
    store.put_text("s0", "", None, 0)
    overhead = len(store.take_writes()[0].value or b"")
    # The record differs but for the text and its time, whose digits may differ by a few.
    fits = "a" * (TABLE_RECORD_MAX_BYTES - overhead - 5)
    store.put_text("s1", fits, None, 0)
    assert store.text_of("s1") == (fits, None)
    with pytest.raises(TextTooLarge):
        store.put_text("s2", fits + "a" * 30, None, 0)
