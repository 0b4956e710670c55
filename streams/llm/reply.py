"""Reading the LLM's reply: validated scores for each post of the request, or why there are none.

The rule this module exists for: a post the reply does not score well is a failure with a reason,
never a row of zeros. Categories a well-formed item leaves out are 0.0 (the reply is sparse by
design); an item that is missing, duplicated or malformed scores nothing. Ids the request did not
send are reported and dropped, never mapped to a post.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from streams.categories import CATEGORIES
from streams.llm.prompt import REPLY_KEY, PromptRequest


class FailureReason(StrEnum):
    """Why a post got no scores (or, for anomalies, why part of the reply was dropped)."""

    REPLY_NOT_JSON = "reply_not_json"
    REPLY_MALFORMED = "reply_malformed"
    REPLY_TRUNCATED = "reply_truncated"
    REFUSAL = "refusal"
    CONTENT_FILTER = "content_filter"
    ITEM_MISSING = "item_missing"
    ITEM_DUPLICATED = "item_duplicated"
    ITEM_MALFORMED = "item_malformed"
    CATEGORY_DUPLICATED = "category_duplicated"
    UNKNOWN_CATEGORY = "unknown_category"
    SCORE_NOT_NUMBER = "score_not_number"
    SCORE_OUT_OF_RANGE = "score_out_of_range"
    UNKNOWN_ID = "unknown_id"


@dataclass(frozen=True)
class ScoredItem:
    status_id: str
    #: Every category, in canonical order, as a float in 0..1.
    scores: Mapping[str, float]


@dataclass(frozen=True)
class FailedItem:
    status_id: str
    reason: FailureReason
    detail: str = ""


ItemResult = ScoredItem | FailedItem


@dataclass(frozen=True)
class Anomaly:
    """Part of the reply that belongs to no post of the request (unknown id, unreadable item)."""

    reason: FailureReason
    detail: str


@dataclass(frozen=True)
class ParsedReply:
    #: One result per status id of the request, in request order.
    results: Mapping[str, ItemResult]
    anomalies: tuple[Anomaly, ...] = ()

    @property
    def scored(self) -> dict[str, Mapping[str, float]]:
        return {k: r.scores for k, r in self.results.items() if isinstance(r, ScoredItem)}

    @property
    def failed(self) -> dict[str, FailedItem]:
        return {k: r for k, r in self.results.items() if isinstance(r, FailedItem)}


_DETAIL_CHARS: Final = 80
_ROWS_START: Final = re.compile(r'\s*\{\s*"' + REPLY_KEY + r'"\s*:\s*\[')
_WHITESPACE: Final = re.compile(r"\s*")


def parse_reply(
    content: str | None,
    request: PromptRequest,
    finish_reason: str | None = None,
    refusal: str | None = None,
) -> ParsedReply:
    """Map the reply ``content`` (``choices[0].message``) onto the posts of ``request``."""
    if refusal:
        return _fail_all(request, FailureReason.REFUSAL, refusal)
    if finish_reason == "content_filter":
        return _fail_all(request, FailureReason.CONTENT_FILTER, "finish_reason=content_filter")
    truncated = finish_reason == "length"
    rows = _rows(content, truncated)
    if isinstance(rows, Anomaly):
        return _fail_all(request, rows.reason, rows.detail)

    found: dict[str, ItemResult] = {}
    duplicated: set[str] = set()
    anomalies: list[Anomaly] = []
    for row in rows:
        outcome = _read_row(row, request.item_ids)
        if isinstance(outcome, Anomaly):
            anomalies.append(outcome)
        elif outcome.status_id in found:
            duplicated.add(outcome.status_id)
        else:
            found[outcome.status_id] = outcome

    results: dict[str, ItemResult] = {}
    for status_id in request.status_ids:
        if status_id in duplicated:
            results[status_id] = FailedItem(status_id, FailureReason.ITEM_DUPLICATED)
        elif status_id in found:
            results[status_id] = found[status_id]
        elif truncated:
            results[status_id] = FailedItem(status_id, FailureReason.REPLY_TRUNCATED)
        else:
            results[status_id] = FailedItem(status_id, FailureReason.ITEM_MISSING)
    return ParsedReply(results=results, anomalies=tuple(anomalies))


def _fail_all(request: PromptRequest, reason: FailureReason, detail: str) -> ParsedReply:
    detail = _clip(detail)
    return ParsedReply(results={sid: FailedItem(sid, reason, detail) for sid in request.status_ids})


def _rows(content: str | None, truncated: bool) -> list[Any] | Anomaly:
    """The reply's item rows, or what makes the whole reply unusable."""
    if not content or not content.strip():
        reason = FailureReason.REPLY_TRUNCATED if truncated else FailureReason.REPLY_NOT_JSON
        return Anomaly(reason, "empty content")
    try:
        data = json.loads(content)
    except ValueError as exc:
        if truncated:
            # Rows closed before the cut are as good as any; only the rest need a retry.
            return _complete_rows(content)
        return Anomaly(FailureReason.REPLY_NOT_JSON, f"{exc}: {content[:40]!r}")
    if not isinstance(data, dict) or not isinstance(data.get(REPLY_KEY), list):
        shape = sorted(data) if isinstance(data, dict) else type(data).__name__
        return Anomaly(FailureReason.REPLY_MALFORMED, f'no "{REPLY_KEY}" array: {shape}')
    rows: list[Any] = data[REPLY_KEY]
    return rows


def _complete_rows(content: str) -> list[Any]:
    """The rows of a cut-off reply that were complete before the cut."""
    start = _ROWS_START.match(content)
    if start is None:
        return []
    decoder = json.JSONDecoder()
    rows: list[Any] = []
    pos = start.end()
    while True:
        pos = _skip_whitespace(content, pos)
        try:
            row, pos = decoder.raw_decode(content, pos)
        except ValueError:
            return rows
        pos = _skip_whitespace(content, pos)
        # A closed array cannot have been cut; a bare scalar at the very end may have been.
        if isinstance(row, list) or content.startswith((",", "]"), pos):
            rows.append(row)
        if not content.startswith(",", pos):
            return rows
        pos += 1


def _skip_whitespace(text: str, pos: int) -> int:
    match = _WHITESPACE.match(text, pos)
    return match.end() if match else pos


def _read_row(row: Any, item_ids: Mapping[int, str]) -> ItemResult | Anomaly:
    if not isinstance(row, list) or not row:
        return Anomaly(FailureReason.ITEM_MALFORMED, f"item is not [id, ...]: {_clip(row)}")
    item_id = _item_id(row[0])
    if item_id is None:
        return Anomaly(FailureReason.ITEM_MALFORMED, f"item without an id: {_clip(row)}")
    status_id = item_ids.get(item_id)
    if status_id is None:
        return Anomaly(FailureReason.UNKNOWN_ID, f"id {item_id} was not sent")
    return _read_scores(status_id, row[1:])


def _item_id(value: Any) -> int | None:
    # Strict mode emits a number; JSON mode may quote it. Both name the same item.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _read_scores(status_id: str, flat: list[Any]) -> ItemResult:
    if len(flat) % 2:
        return FailedItem(status_id, FailureReason.ITEM_MALFORMED, f"odd pairs: {_clip(flat)}")
    scores = dict.fromkeys(CATEGORIES, 0.0)
    seen: set[str] = set()
    for name, value in zip(flat[::2], flat[1::2], strict=True):
        problem = _check_pair(name, value, seen)
        if problem is not None:
            return FailedItem(status_id, problem, f"{_clip(name)}: {_clip(value)}")
        seen.add(name)
        scores[name] = float(value)
    return ScoredItem(status_id, scores)


def _check_pair(name: Any, value: Any, seen: set[str]) -> FailureReason | None:
    if not isinstance(name, str):
        return FailureReason.ITEM_MALFORMED
    if name not in CATEGORIES:
        return FailureReason.UNKNOWN_CATEGORY
    if name in seen:
        return FailureReason.CATEGORY_DUPLICATED
    if isinstance(value, bool) or not isinstance(value, int | float):
        return FailureReason.SCORE_NOT_NUMBER
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        return FailureReason.SCORE_OUT_OF_RANGE
    return None


def _clip(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= _DETAIL_CHARS else text[: _DETAIL_CHARS - 1] + "…"
