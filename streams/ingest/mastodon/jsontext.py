"""Where values sit inside a JSON text, so they can be cut out as their original bytes. Pure.

Mastodon's Status JSON is published as Mastodon wrote it. When it arrives inside a larger
document (a webhook envelope, a timeline page), the text of each status is cut out at the span
the standard library's decoder consumed: no decoding and re-encoding, so escapes, number forms
and key order stay as they were. The input must already be known to be valid JSON
(``streams.models.status.load_json_object`` or ``json.loads`` checks it first).
"""

from __future__ import annotations

import json
import re
from typing import Final

_WHITESPACE: Final = re.compile(r"[ \t\n\r]*")
_DECODER: Final = json.JSONDecoder()


def _skip_ws(text: str, index: int) -> int:
    match = _WHITESPACE.match(text, index)
    return match.end() if match else index


def member_span(text: str, name: str) -> tuple[int, int] | None:
    """Start and end (character offsets) of the value of top-level member ``name`` of the JSON
    object ``text``, or None when the object has no such member (or ``text`` is no object)."""
    index = _skip_ws(text, 0)
    if text[index : index + 1] != "{":
        return None
    index = _skip_ws(text, index + 1)
    if text[index : index + 1] == "}":
        return None
    while True:
        key, index = _DECODER.raw_decode(text, index)
        index = _skip_ws(text, _skip_ws(text, index) + 1)  # past the colon
        start = index
        _, end = _DECODER.raw_decode(text, start)
        if key == name:
            return start, end
        index = _skip_ws(text, end)
        if text[index : index + 1] != ",":
            return None
        index = _skip_ws(text, index + 1)


def element_spans(text: str) -> list[tuple[int, int]]:
    """Start and end (character offsets) of each element of the JSON array ``text``; empty
    when ``text`` is no array."""
    index = _skip_ws(text, 0)
    if text[index : index + 1] != "[":
        return []
    index = _skip_ws(text, index + 1)
    spans: list[tuple[int, int]] = []
    if text[index : index + 1] == "]":
        return spans
    while True:
        _, end = _DECODER.raw_decode(text, index)
        spans.append((index, end))
        index = _skip_ws(text, end)
        if text[index : index + 1] != ",":
            return spans
        index = _skip_ws(text, index + 1)
