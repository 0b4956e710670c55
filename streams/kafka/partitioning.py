"""Which partition a key lands on, as Kafka's default partitioner (Java's and aiokafka's) puts it.

The harvester writes the tombstones that erase a post to the changelog partition of the post's
key, which is not always the partition of the record that asked for the erasure.
"""

from __future__ import annotations

from aiokafka.partitioner import murmur2


def partition_for_key(key: bytes, partitions: int) -> int:
    """The partition of ``key`` among ``partitions`` under the default (murmur2) partitioner."""
    if partitions < 1:
        raise ValueError(f"a topic has at least one partition, got {partitions}")
    hashed: int = murmur2(key)
    return (hashed & 0x7FFFFFFF) % partitions
