"""Reads operator input for the produce commands: JSONL or a JSON array, validated record by record.

Pure: no Kafka. Each good record comes out with its key and its bytes; each bad one with its
line number (or array item number) and the reason, so the operator can fix the file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final, Literal

from pydantic import ValidationError

from streams.errors import InvalidRecordError
from streams.models.corrections import Correction
from streams.models.status import parse_raw_record

#: Returns the Kafka key of a valid record's bytes, or raises InvalidRecordError/ValueError.
KeyOf = Callable[[bytes], str]


@dataclass(frozen=True, slots=True)
class GoodRecord:
    position: str
    key: bytes
    value: bytes


@dataclass(frozen=True, slots=True)
class BadRecord:
    position: str
    reason: str


def status_key(value: bytes) -> str:
    """Key of a raw status: its own id (a boost is keyed by the boost, not the boosted post)."""
    return parse_raw_record(None, value).status_id


def correction_key(value: bytes) -> str:
    """Key of a correction: the status it corrects, so all of a post's corrections share one
    partition."""
    try:
        return Correction.model_validate_json(value).status_id
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "record"
        raise InvalidRecordError(f"{where}: {first['msg']}") from None


KEY_FUNCTIONS: dict[str, KeyOf] = {"statuses": status_key, "corrections": correction_key}


def _check(position: str, value: bytes, key_of: KeyOf) -> GoodRecord | BadRecord:
    try:
        return GoodRecord(position, key_of(value).encode(), value)
    except (InvalidRecordError, ValueError) as exc:
        return BadRecord(position, str(exc) or type(exc).__name__)


def input_format(head: bytes) -> Literal["array", "jsonl"]:
    return "array" if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"[") else "jsonl"


def read_records(data: bytes, key_of: KeyOf) -> Iterator[GoodRecord | BadRecord]:
    """Every record of ``data`` (JSONL, or one JSON array), validated, in input order."""
    if input_format(data[:4096]) == "array":
        yield from _read_array(data, key_of)
        return
    # A byte order mark belongs to the file (editors on Windows write one), not to line 1.
    for number, line in enumerate(data.removeprefix(_BOM).split(b"\n"), start=1):
        line = line.strip()
        if line:
            yield _check(f"line {number}", line, key_of)


_BOM: Final = b"\xef\xbb\xbf"
# A whole JSON string (escapes included), a bracket or a comma.
_ARRAY_TOKEN: Final = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},]|"', re.DOTALL)


def _read_array(data: bytes, key_of: KeyOf) -> Iterator[GoodRecord | BadRecord]:
    try:
        items = _array_items(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        yield BadRecord("input", f"not a valid JSON array: {exc}")
        return
    for number, item in enumerate(items, start=1):
        if not item.strip():
            yield BadRecord(f"item {number}", "empty item (two commas in a row, or one before ])")
            continue
        # Each item's own bytes, as the producer wrote them, are validated and sent: the same
        # strict reading as a JSONL line, so duplicate keys, NaN or deep nesting reject only
        # that item, and nothing is changed by a decode and re-encode.
        yield _check(f"item {number}", item.strip().encode(), key_of)


def _array_items(text: str) -> list[str]:
    """The texts of the top-level items of the JSON array ``text``, or ValueError.

    Only strings and brackets are read (no recursion, no number conversion), so any item,
    however hostile, is cut out intact for its own validation.
    """
    start = text.index("[")
    items: list[str] = []
    depth = 0
    item_start = start + 1
    for match in _ARRAY_TOKEN.finditer(text, start):
        token = match.group()
        if token == '"':
            raise ValueError(f"a string opened at character {match.start()} is never closed")
        if token[0] == '"':
            continue
        if token in "[{":
            depth += 1
        elif token in "]}":
            depth -= 1
            if depth == 0:
                last = text[item_start : match.start()]
                if items or last.strip():
                    items.append(last)
                rest = text[match.end() :].strip()
                if rest:
                    raise ValueError(f"text after the array: {rest[:40]!r}")
                return items
        elif depth == 1:  # a comma between two items
            items.append(text[item_start : match.start()])
            item_start = match.end()
    raise ValueError("the array is never closed")
