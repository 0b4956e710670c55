"""Scores of recently seen texts, so boosts and copy-paste campaigns are scored once."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping


def text_key(text: str) -> str:
    """Content hash of a post's text: the same words score the same."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class RepeatCache:
    """A bounded least-recently-used map from text hash to scores."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, Mapping[str, float]] = OrderedDict()

    def get(self, key: str) -> Mapping[str, float] | None:
        scores = self._entries.get(key)
        if scores is not None:
            self._entries.move_to_end(key)
        return scores

    def put(self, key: str, scores: Mapping[str, float]) -> None:
        if self.max_entries <= 0:
            return
        self._entries[key] = scores
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
