"""At most once per post and content version: the state of every post's action. Pure.

Every worker rebuilds the ledger from the compacted actions topic and keeps applying what is
written to it, its own records and other workers' alike, in each partition's order. The
agent asks it:

* **acted?** -- before planning: a post whose latest action (in this mode) covers this
  content version or a later one is never acted on again, whatever its state. Only a
  failure that certainly did nothing (``retry_allowed``: the sink refused the call, or the
  call was never made) lets a later delivery try again.
* **claim won?** -- after its own plan is on the topic and read back: two workers can plan
  the same post in a rebalance, each before seeing the other's plan; the partition orders
  them, and only the first plan of a content version is carried out.
* **left open?** -- a plan without an outcome, after a crash. If it got to ``sending``,
  the call may have been made, and the reporting API is not idempotent: the choice is
  "never twice", at the price of a report that may be missing (the plan is closed as
  failed, ``interrupted``, and counted as ``streams_actions_possibly_missed_total``). If it
  is still ``planned``, the call was never made: its claimant may only start sending within
  half the claim timeout, so once the whole timeout has passed the plan is abandoned and
  the post acted on anew (:func:`claim_expired`).

Dry runs are kept apart from live actions: a dry run is not an action, so switching to live
acts on posts a dry run planned; a live action makes a dry run skip the post.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
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


def send_deadline(planned_at: datetime, claim_timeout_s: float) -> datetime:
    """The latest time (the claimant's clock) at which a plan's claimant may start sending.

    Half the timeout: the other half covers the clocks of two workers disagreeing.
    """
    return planned_at + timedelta(seconds=claim_timeout_s / 2)


def claim_expired(entry: Entry, now: datetime, claim_timeout_s: float) -> bool:
    """Whether a plan still ``planned`` can no longer be carried out by its claimant."""
    assert entry.state == "planned" and entry.planned_at is not None
    return now >= entry.planned_at + timedelta(seconds=claim_timeout_s)


class Ledger:
    def __init__(self) -> None:
        self._entries: dict[tuple[Mode, str], Entry] = {}

    def apply(self, record: ActionRecord) -> None:
        """Take in the next record of the actions topic (in its partition's order)."""
        key = (record.mode, record.status_id)
        entry = self._entries.get(key)
        mine = entry is not None and entry.action_id == record.action_id
        if record.state == "planned":
            if entry is None or not entry.covers(record.content_version):
                self._entries[key] = Entry(
                    record.action_id, record.content_version, "planned",
                    planned_at=record.planned_at,
                )  # fmt: skip
            # Otherwise a plan for content already covered: a claim that lost (see above).
            return
        if record.state == "sending":
            if mine and entry is not None and entry.state == "planned":
                self._entries[key] = Entry(
                    record.action_id, record.content_version, "sending",
                    planned_at=record.planned_at,
                )  # fmt: skip
            elif entry is None:  # its plan was compacted away
                self._entries[key] = Entry(record.action_id, record.content_version, "sending")
            return
        newer = entry is None or RANK[record.content_version] > RANK[entry.version]
        if newer or mine:
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
        if entry is None or entry.action_id != record.action_id:
            return False
        return entry.state == "planned"

    def open_plan(self, status_id: str, version: ContentVersion) -> Entry | None:
        """A live plan for ``version`` without an outcome: in flight, or cut off by a crash."""
        entry = self._entries.get(("live", status_id))
        if entry is not None and entry.state in ("planned", "sending"):
            return entry if entry.version == version else None
        return None

    def counts(self) -> Counter[str]:
        """How many posts are in each state, e.g. ``live:done``, ``dry-run:planned``."""
        return Counter(f"{mode}:{entry.state}" for (mode, _), entry in self._entries.items())

    def __len__(self) -> int:
        return len(self._entries)
