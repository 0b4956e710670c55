"""The harvester's three tables, kept bounded and erasable.

- ``harvest-texts``: post texts for corrections that carry none, at most ``text_cache_size`` of
  them, oldest evicted first (the order survives a restart: each record carries when it was seen);
- ``harvest-corrections``: each post's kept corrections, bounded by count and bytes;
- ``harvest-erased``: the posts that were deleted or erased on request, so that no later
  correction, boost or edit brings one back.

Every record stays below ``TABLE_RECORD_MAX_BYTES`` by construction, and the changelogs are
created with an explicit ``max.message.bytes``. Faust writes a table change to the changelog
partition of the event being processed, which is not always the key's own partition (an
eviction happens while another post's record is processed). Removals here therefore write their
tombstones themselves, to the partition the record was stored from and to the key's partition
under the default partitioner, so that a restart cannot restore what was removed.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import faust

from streams.harvest.policy import MAX_CORRECTIONS_BYTES, stored_size
from streams.kafka.catalog import TABLE_CHANGELOG_MAX_MESSAGE_BYTES, TABLE_RECORD_MAX_BYTES
from streams.kafka.partitioning import partition_for_key
from streams.models.corrections import Correction

#: The changelogs' own limit, so that a broker default cannot shrink it under our records.
CHANGELOG_CONFIGS = {"max.message.bytes": str(TABLE_CHANGELOG_MAX_MESSAGE_BYTES)}

assert MAX_CORRECTIONS_BYTES <= TABLE_RECORD_MAX_BYTES


class TextTooLarge(ValueError):
    """A post's text is too large to keep in the texts table."""


@dataclass(frozen=True)
class Erasure:
    """What erasing one post removed from the tables."""

    status_id: str
    had_text: bool
    had_corrections: bool


class HarvestTables:
    def __init__(self, app: faust.App, partitions: int, text_cache_size: int) -> None:
        self.partitions = partitions
        self.text_cache_size = text_cache_size

        def table(name: str) -> Any:
            return app.Table(
                name, default=None, key_type=str, partitions=partitions,
                extra_topic_configs=CHANGELOG_CONFIGS,
            )  # fmt: skip

        self.texts = table("harvest-texts")
        self.corrections = table("harvest-corrections")
        self.erased = table("harvest-erased")
        #: Keys of ``texts``, least recently stored first; rebuilt from the records' ``seen``
        #: when the table holds keys it does not know (restored from the changelog).
        self.text_order: OrderedDict[str, None] = OrderedDict()

    # --- reads ---------------------------------------------------------------------------
    def is_erased(self, status_id: str) -> bool:
        return self.erased.get(status_id) is not None

    def text_of(self, status_id: str) -> tuple[str | None, str | None]:
        record = self.texts.get(status_id)
        return (record["text"], record.get("language")) if record else (None, None)

    def corrections_of(self, status_id: str) -> list[Correction]:
        return [Correction.model_validate(c) for c in self.corrections.get(status_id) or []]

    # --- writes (inside an agent, for a record of the key's own partition) -----------------
    def put_text(self, status_id: str, text: str, language: str | None, partition: int) -> None:
        """Keep a post's text; raises TextTooLarge when its record would be over the bound."""
        record = {"text": text, "language": language, "partition": partition, "seen": time.time()}
        size = stored_size(record)
        if size > TABLE_RECORD_MAX_BYTES:
            raise TextTooLarge(
                f"the post's text takes {size} bytes as JSON, over the {TABLE_RECORD_MAX_BYTES} "
                "the texts table keeps per post; corrections for it must carry the text"
            )
        self.texts[status_id] = record
        self.text_order[status_id] = None
        self.text_order.move_to_end(status_id)
        self._evict_texts()

    def put_corrections(self, status_id: str, corrections: list[Correction]) -> None:
        # merge_correction bounds the list by MAX_CORRECTIONS_BYTES, below the record bound.
        self.corrections[status_id] = [c.model_dump(mode="json") for c in corrections]

    def erase(self, status_id: str, event_partition: int) -> Erasure:
        """Forget the post's text and corrections and remember it as erased, durably."""
        text = self.texts.data.get(status_id)
        had_corrections = self.corrections.data.get(status_id) is not None
        partitions = {event_partition, self._key_partition(status_id)}
        if text is not None and isinstance(text.get("partition"), int):
            partitions.add(text["partition"])
        for table in (self.texts, self.corrections):
            self._tombstone(table, status_id, partitions)
        self.text_order.pop(status_id, None)
        self.erased[status_id] = {"erased_at": round(time.time())}
        return Erasure(status_id, text is not None, had_corrections)

    # --- internals -----------------------------------------------------------------------
    def _key_partition(self, status_id: str) -> int:
        return partition_for_key(status_id.encode(), self.partitions)

    def _tombstone(self, table: Any, key: str, partitions: set[int]) -> None:
        for partition in sorted(partitions):
            table.send_changelog(partition, key, None, value_serializer="raw")
        table.data.pop(key, None)

    def _evict_texts(self) -> None:
        data = self.texts.data
        if len(data) <= self.text_cache_size:
            return
        if len(self.text_order) < len(data):
            self._rebuild_text_order()
        while len(data) > self.text_cache_size and self.text_order:
            oldest, _ = self.text_order.popitem(last=False)
            record = data.get(oldest)
            if record is None:
                continue  # its partition went to another worker
            partitions = {self._key_partition(oldest)}
            if isinstance(record.get("partition"), int):
                partitions.add(record["partition"])
            self._tombstone(self.texts, oldest, partitions)

    def _rebuild_text_order(self) -> None:
        # Records from before "seen" was kept sort first: they are the oldest.
        items = sorted(self.texts.data.items(), key=lambda kv: (kv[1] or {}).get("seen", 0.0))
        self.text_order = OrderedDict((key, None) for key, _ in items)
