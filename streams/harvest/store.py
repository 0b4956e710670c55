"""The harvester's state in memory, and the changelog records that make it durable. No I/O.

Three tables, under the names and in the record format (JSON key, JSON value, a null value
removes) that the harvester has always used, so a worker restores what an earlier one wrote:

- ``harvest-texts``: post texts for corrections that carry none, at most ``text_cache_size``
  of them, oldest evicted first (each record carries when it was seen, so the order survives a
  restart);
- ``harvest-corrections``: each post's kept corrections, bounded by count and bytes;
- ``harvest-erased``: the posts deleted or erased on request, so that no later correction,
  boost or edit brings one back.

Every change appends the changelog records that persist it to :attr:`HarvestStore.writes`;
the caller sends them before it commits the input offsets that caused them. A changelog
partition is the partition of the input record, as the topics are co-partitioned; a removal
also goes to the key's own partition and to the one the record was stored from, since a record
can be stored from another partition (an eviction happens while another post's record is
processed) and a restart must not restore what was removed.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from streams.harvest.example_json import provenance_json
from streams.harvest.policy import MAX_CORRECTIONS_BYTES, merge_correction, stored_size
from streams.kafka.catalog import TABLE_RECORD_MAX_BYTES
from streams.kafka.partitioning import partition_for_key
from streams.models.corrections import Correction

TEXTS: Final = "harvest-texts"
CORRECTIONS: Final = "harvest-corrections"
ERASED: Final = "harvest-erased"
TABLES: Final = (TEXTS, CORRECTIONS, ERASED)

assert MAX_CORRECTIONS_BYTES <= TABLE_RECORD_MAX_BYTES


class TextTooLarge(ValueError):
    """A post's text is too large to keep in the texts table."""


class ChangelogWrite(NamedTuple):
    table: str
    partition: int
    key: bytes
    value: bytes | None


@dataclass(frozen=True)
class Erasure:
    """What erasing one post removed."""

    status_id: str
    had_text: bool
    had_corrections: bool


@dataclass
class _Kept:
    """A post's corrections, each with its JSON form (ASCII, so its length is its size as
    :func:`stored_size` counts it) and its entry in the example's provenance, by id."""

    corrections: list[Correction]
    encoded: dict[str, bytes]
    partition: int
    provenance: dict[str, bytes]

    def sizes(self) -> dict[str, int]:
        return {k: len(v) for k, v in self.encoded.items()}


def _encode(correction: Correction) -> bytes:
    return correction.model_dump_json(ensure_ascii=True).encode()


def _key(status_id: str) -> bytes:
    return json.dumps(status_id).encode()


def _value(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


class HarvestStore:
    def __init__(self, partitions: int, text_cache_size: int) -> None:
        self.partitions = partitions
        self.text_cache_size = text_cache_size
        #: Text records by status id, least recently stored first.
        self.texts: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._corrections: dict[str, _Kept] = {}
        #: Erased status ids, with the partition each was stored from.
        self.erased: dict[str, int] = {}
        self.writes: list[ChangelogWrite] = []

    # --- reads -------------------------------------------------------------------------
    def is_erased(self, status_id: str) -> bool:
        return status_id in self.erased

    def text_of(self, status_id: str) -> tuple[str | None, str | None]:
        record = self.texts.get(status_id)
        return (record["text"], record.get("language")) if record else (None, None)

    def corrections_of(self, status_id: str) -> list[Correction]:
        kept = self._corrections.get(status_id)
        return list(kept.corrections) if kept else []

    def provenance_of(self, status_id: str) -> dict[str, bytes]:
        """The kept corrections' provenance entries as JSON, by correction id."""
        kept = self._corrections.get(status_id)
        return kept.provenance if kept else {}

    def __len__(self) -> int:
        return len(self.texts) + len(self._corrections) + len(self.erased)

    # --- changes ----------------------------------------------------------------------
    def put_text(self, status_id: str, text: str, language: str | None, partition: int) -> None:
        """Keep a post's text; raises TextTooLarge when its record would be over the bound."""
        record = {"text": text, "language": language, "partition": partition, "seen": time.time()}
        value = _value(record)
        # Escaping changes only non-ASCII characters: an ASCII record is its own stored size.
        size = len(value) if value.isascii() else stored_size(record)
        if size > TABLE_RECORD_MAX_BYTES:
            raise TextTooLarge(
                f"the post's text takes {size} bytes as JSON, over the {TABLE_RECORD_MAX_BYTES} "
                "the texts table keeps per post; corrections for it must carry the text"
            )
        self.texts[status_id] = record
        self.texts.move_to_end(status_id)
        self.writes.append(ChangelogWrite(TEXTS, partition, _key(status_id), value))
        self._evict_texts()

    def merge(self, correction: Correction, partition: int) -> list[Correction]:
        """Add a correction to its post's kept ones (see :func:`merge_correction`); the list.

        Raises ValueError when the deciding correction alone is over the bytes bound.
        """
        status_id = correction.status_id
        kept = self._corrections.get(status_id)
        new = _encode(correction)
        merged = merge_correction(
            kept.corrections if kept else [], correction,
            sizes=kept.sizes() if kept else None, new_size=len(new),
        )  # fmt: skip
        before = kept.encoded if kept else {}
        encoded = {
            c.correction_id: new if c is correction else before[c.correction_id] for c in merged
        }
        listed = kept.provenance if kept else {}
        provenance = {
            c.correction_id: provenance_json(c) if c is correction else listed[c.correction_id]
            for c in merged
        }
        self._corrections[status_id] = _Kept(merged, encoded, partition, provenance)
        value = b"[" + b",".join(encoded.values()) + b"]"
        self.writes.append(ChangelogWrite(CORRECTIONS, partition, _key(status_id), value))
        return merged

    def erase(self, status_id: str, partition: int) -> Erasure:
        """Forget the post's text and corrections and remember it as erased, durably."""
        text = self.texts.pop(status_id, None)
        kept = self._corrections.pop(status_id, None)
        partitions = {partition, self._key_partition(status_id)}
        if text is not None and isinstance(text.get("partition"), int):
            partitions.add(text["partition"])
        if kept is not None:
            partitions.add(kept.partition)
        for table in (TEXTS, CORRECTIONS):
            self._tombstone(table, status_id, partitions)
        self.erased[status_id] = partition
        erased_at = _value({"erased_at": round(time.time())})
        self.writes.append(ChangelogWrite(ERASED, partition, _key(status_id), erased_at))
        return Erasure(status_id, text is not None, kept is not None)

    def forget_partitions(self, partitions: set[int]) -> None:
        """Drop what was stored from ``partitions``: their new owner restores it."""
        for status_id in [k for k, r in self.texts.items() if r.get("partition") in partitions]:
            del self.texts[status_id]
        for status_id in [k for k, c in self._corrections.items() if c.partition in partitions]:
            del self._corrections[status_id]
        for status_id in [k for k, p in self.erased.items() if p in partitions]:
            del self.erased[status_id]

    def take_writes(self) -> list[ChangelogWrite]:
        writes, self.writes = self.writes, []
        return writes

    # --- restore from the changelogs -------------------------------------------------------
    def restore(self, table: str, partition: int, key: bytes, value: bytes | None) -> None:
        """Apply one changelog record, read back in offset order."""
        status_id = json.loads(key)
        if not isinstance(status_id, str):
            return
        if table == TEXTS:
            if value is None:
                self.texts.pop(status_id, None)
            else:
                self.texts[status_id] = json.loads(value)
                self.texts.move_to_end(status_id)
        elif table == CORRECTIONS:
            if value is None:
                self._corrections.pop(status_id, None)
            else:
                corrections = [Correction.model_validate(c) for c in json.loads(value)]
                encoded = {c.correction_id: _encode(c) for c in corrections}
                provenance = {c.correction_id: provenance_json(c) for c in corrections}
                self._corrections[status_id] = _Kept(corrections, encoded, partition, provenance)
        elif table == ERASED:
            if value is None:
                self.erased.pop(status_id, None)
            else:
                self.erased[status_id] = partition

    def restored(self) -> None:
        """Order the texts by when each was seen and apply the bound, after a restore."""
        # Records from before "seen" was kept sort first: they are the oldest.
        ordered = sorted(self.texts.items(), key=lambda kv: kv[1].get("seen", 0.0))
        self.texts = OrderedDict(ordered)
        self._evict_texts()

    # --- internals -----------------------------------------------------------------------
    def _key_partition(self, status_id: str) -> int:
        return partition_for_key(status_id.encode(), self.partitions)

    def _tombstone(self, table: str, status_id: str, partitions: Iterable[int]) -> None:
        key = _key(status_id)
        for partition in sorted(set(partitions)):
            self.writes.append(ChangelogWrite(table, partition, key, None))

    def _evict_texts(self) -> None:
        while len(self.texts) > self.text_cache_size:
            oldest, record = self.texts.popitem(last=False)
            partitions = {self._key_partition(oldest)}
            if isinstance(record.get("partition"), int):
                partitions.add(record["partition"])
            self._tombstone(TEXTS, oldest, partitions)
