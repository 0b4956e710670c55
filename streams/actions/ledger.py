"""At most once per post and content version: the state of every post's action. Pure.

Every worker rebuilds the ledger from the compacted actions topic and keeps applying what is
written to it, its own records and other workers' alike, in each partition's order. The
agent asks it two things:

* **acted?** -- before planning: a post whose latest action (in this mode) covers this
  content version or a later one is never acted on again, whatever its state. A plan
  without an outcome counts as acted: the worker that wrote it may have made the call
  before it crashed, and the reporting API is not idempotent, so the choice is "never
  twice", at the price of a report that may be missing (counted as
  ``streams_actions_possibly_missed_total``). Only a failure that certainly did nothing
  (``retry_allowed``: the sink refused the call) lets a later delivery try again.
* **claim won?** -- after its own plan is on the topic and read back: two workers can plan
  the same post in a rebalance, each before seeing the other's plan; the partition orders
  them, and only the first plan of a content version is carried out.

Dry runs are kept apart from live actions: a dry run is not an action, so switching to live
acts on posts a dry run planned; a live action makes a dry run skip the post.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from streams.models.actions import ActionRecord, ActionState, ContentVersion, Mode

RANK: Final[dict[ContentVersion, int]] = {"original": 0, "edited": 1}


@dataclass(frozen=True, slots=True)
class Entry:
    """The latest state of one post's action in one mode (kept small: one per post acted on)."""

    action_id: str
    version: ContentVersion
    state: ActionState
    retry_allowed: bool = False
    planned_at: datetime | None = None

    def covers(self, version: ContentVersion) -> bool:
        """Whether this action stands for ``version`` of the post."""
        if RANK[self.version] != RANK[version]:
            return RANK[self.version] > RANK[version]
        return not (self.state == "failed" and self.retry_allowed)


class Ledger:
    def __init__(self) -> None:
        self._entries: dict[tuple[Mode, str], Entry] = {}

    def apply(self, record: ActionRecord) -> None:
        """Take in the next record of the actions topic (in its partition's order)."""
        key = (record.mode, record.status_id)
        entry = self._entries.get(key)
        if record.state == "planned":
            if entry is None or not entry.covers(record.content_version):
                self._entries[key] = Entry(
                    record.action_id, record.content_version, "planned",
                    planned_at=record.planned_at,
                )  # fmt: skip
            # Otherwise a plan for content already covered: a claim that lost (see above).
            return
        newer = entry is None or RANK[record.content_version] > RANK[entry.version]
        if newer or (entry is not None and entry.action_id == record.action_id):
            self._entries[key] = Entry(
                record.action_id, record.content_version, record.state, record.retry_allowed
            )

    def get(self, mode: Mode, status_id: str) -> Entry | None:
        return self._entries.get((mode, status_id))

    def acted(self, mode: Mode, status_id: str, version: ContentVersion) -> bool:
        """Whether acting on ``version`` of the post now could act on it twice."""
        modes: tuple[Mode, ...] = ("live",) if mode == "live" else ("live", "dry-run")
        for looked_up in modes:
            entry = self._entries.get((looked_up, status_id))
            if entry is not None and entry.covers(version):
                return True
        return False

    def claim_won(self, record: ActionRecord) -> bool:
        """Whether ``record`` (a plan, already applied) is the one to carry out."""
        entry = self._entries.get((record.mode, record.status_id))
        return (
            entry is not None and entry.action_id == record.action_id and (entry.state == "planned")
        )

    def open_plan(self, status_id: str, version: ContentVersion) -> Entry | None:
        """A live plan for ``version`` that has no outcome: in flight, or cut off by a crash."""
        entry = self._entries.get(("live", status_id))
        if entry is not None and entry.state == "planned" and entry.version == version:
            return entry
        return None

    def counts(self) -> Counter[str]:
        """How many posts are in each state, e.g. ``live:done``, ``dry-run:planned``."""
        return Counter(f"{mode}:{entry.state}" for (mode, _), entry in self._entries.items())

    def __len__(self) -> int:
        return len(self._entries)
