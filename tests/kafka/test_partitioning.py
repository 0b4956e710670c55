"""The partitioner matches the Java client's: the values its own tests list for murmur2."""

from __future__ import annotations

import pytest

from streams.kafka.partitioning import partition_for_key


def test_known_values_of_the_java_client() -> None:
    # murmur2 of these keys, as org.apache.kafka.common.utils.Utils.murmur2 computes them
    # (positive-masked) and the Java client's tests list: "21" -> -973932308, etc.
    assert partition_for_key(b"21", 1_000_000) == (-973932308 & 0x7FFFFFFF) % 1_000_000
    assert partition_for_key(b"foobar", 1_000_000) == (-790332482 & 0x7FFFFFFF) % 1_000_000


def test_every_partition_is_in_range() -> None:
    for n in (1, 3, 6, 12):
        assert {partition_for_key(str(i).encode(), n) for i in range(500)} == set(range(n))


def test_refuses_a_topic_without_partitions() -> None:
    with pytest.raises(ValueError, match="at least one partition"):
        partition_for_key(b"1", 0)
