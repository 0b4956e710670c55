"""A training example's JSON bytes written directly, as pydantic would write them. Pure.

The harvester publishes an example every time a post's corrections change, and each one lists
every kept correction of the post. Building the model and serialising it was a third of what
a correction cost; here each correction's provenance entry, the same in every version of its
post's example, is written once when the correction is kept, and the rest is joined around
the entries. tests/harvest/test_example_json.py checks the bytes equal
``build_training_example(...).to_bytes()`` for generated corrections, texts and times.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Final

from streams.categories import MEMBERS, Category
from streams.harvest.policy import Decision, decide, require_zone
from streams.models.corrections import Correction

_encode_string = json.JSONEncoder(ensure_ascii=False).encode
_CATEGORY_KEYS: Final = tuple((c, f'"{c.value}":'.encode()) for c in MEMBERS)
_NAMES: Final = {c: json.dumps(c.value).encode() for c in MEMBERS}


def provenance_json(correction: Correction) -> bytes:
    """The correction's entry in an example's provenance, as pydantic writes it."""
    return b"".join((
        b'{"correction_id":', _string(correction.correction_id),
        b',"source":"', correction.source.encode(),
        b'","timestamp":', _time(correction.timestamp),
        b',"feedback_type":"', correction.feedback_type.encode(),
        b'","expected_categories":', _names(tuple(correction.expected_categories)), b"}",
    ))  # fmt: skip


def training_example_json(
    status_id: str,
    corrections: Sequence[Correction],
    provenance: Mapping[str, bytes],
    text: str | None,
    language: str | None,
    *,
    harvested_at: datetime,
) -> bytes | None:
    """``build_training_example(...).to_bytes()`` for these arguments, or None while no text
    is known; ``provenance`` holds :func:`provenance_json` of corrections by id (the missing
    ones are made here).

    Raises ValueError as :func:`streams.harvest.policy.build_training_example` does.
    """
    decision = decide(status_id, corrections, text, language)
    if decision is None:
        return None
    return _example_bytes(decision, provenance, _time(require_zone(harvested_at)))


def _example_bytes(decision: Decision, provenance: Mapping[str, bytes], harvested: bytes) -> bytes:
    deciding = decision.deciding
    expected = tuple(deciding.expected_categories)
    entries = b",".join([
        provenance.get(c.correction_id) or provenance_json(c) for c in decision.used
    ])  # fmt: skip
    return b"".join((
        b'{"schema_version":1,"status_id":', _string(decision.status_id),
        b',"text":', _string(decision.text),
        b',"language":', _optional(decision.language),
        b',"labels":{', _labels(expected),
        b'},"source":"platform_feedback","feedback_type":"', deciding.feedback_type.encode(),
        b'","original_prediction":', _names(tuple(deciding.actual_categories)),
        b',"corrected_to":', _names(expected),
        b',"contested":', b"true" if decision.contested else b"false",
        b',"decided_by":"', deciding.source.encode(),
        b'","deciding_correction_id":', _string(deciding.correction_id),
        b',"provenance":[', entries,
        b'],"scored_model":null,"scored_prompt_version":null,"updated_at":',
        _time(decision.updated_at), b',"harvested_at":', harvested, b"}",
    ))  # fmt: skip


def _string(value: str) -> bytes:
    return _encode_string(value).encode()


def _optional(value: str | None) -> bytes:
    return b"null" if value is None else _string(value)


# Both are keyed by a canonical category list, of which there are at most 2**12.
@cache
def _labels(expected: tuple[Category, ...]) -> bytes:
    return b",".join(key + (b"1" if c in expected else b"0") for c, key in _CATEGORY_KEYS)


@cache
def _names(categories: tuple[Category, ...]) -> bytes:
    return b"[" + b",".join(_NAMES[c] for c in categories) + b"]"


@lru_cache(maxsize=4096)  # a batch's harvest time, and the times of posts corrected again
def _time(moment: datetime) -> bytes:
    # pydantic writes a UTC time as ISO 8601 with "Z"; the corrections' times are in UTC.
    iso = moment.astimezone(UTC).isoformat()
    return b'"' + iso.removesuffix("+00:00").encode() + b'Z"'
