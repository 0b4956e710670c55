"""How the corrections of one post become one training example. Pure functions, no I/O.

Rules, in the order they apply:

1. Duplicates count once. Corrections with the same ``correction_id`` are one correction; if the
   copies differ (a producer re-sent an edited one), the later timestamp wins, then the greater
   JSON form, so the pick never depends on arrival order.
2. The deciding correction is the one of the highest source level
   (``admin_override`` > ``appeal`` > ``user_report``); within a level the latest by the
   correction's own timestamp, ties broken by the greater ``correction_id``.
3. Labels are 1 for the deciding correction's expected categories and 0 for the others, whatever
   its feedback type (as the seed harvester did).
4. ``contested`` is True exactly when the deciding level is ``user_report`` and the user reports
   do not all name the same set of expected categories. Once an appeal or an admin override
   decides, disagreement among reporters no longer matters and the example is not contested.
5. Every correction considered is listed in the example's provenance, oldest first.

Everything is computed from the set of corrections, so the result does not depend on the order
in which they arrived.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Final, NamedTuple

from streams.models.corrections import (
    Correction,
    ProvenanceEntry,
    Source,
    TrainingExample,
    label_vector,
)

#: Higher wins.
PRECEDENCE: Final[Mapping[Source, int]] = {"user_report": 1, "appeal": 2, "admin_override": 3}

#: Corrections kept per post by :func:`merge_correction`. A post that goes viral can draw
#: thousands of reports; the table rewrites the whole list on every change, so an unbounded
#: list costs quadratic time and changelog bytes while adding nothing to the labels.
MAX_CORRECTIONS: Final = 100

#: Bytes the kept corrections of one post may take as JSON, by default. A list of at most
#: MAX_CORRECTIONS can still reach megabytes (100 texts of 20,000 characters), more than the
#: changelog takes in one record, so the list is bounded by bytes as well.
MAX_CORRECTIONS_BYTES: Final = 512 * 1024


def stored_size(value: object) -> int:
    """Bytes of ``value`` as JSON with every non-ASCII character escaped.

    An upper bound of what a JSON serialiser writes for it: escaping is the costliest form.
    """
    return len(json.dumps(value, separators=(",", ":")))


def correction_size(correction: Correction) -> int:
    """:func:`stored_size` of a correction's JSON form, computed by pydantic's serialiser."""
    return len(correction.model_dump_json(ensure_ascii=True))


def _rank(correction: Correction) -> tuple[int, datetime, str]:
    return (PRECEDENCE[correction.source], correction.timestamp, correction.correction_id)


def _chronological(correction: Correction) -> tuple[datetime, str]:
    return (correction.timestamp, correction.correction_id)


def _variant(correction: Correction) -> tuple[datetime, str]:
    return (correction.timestamp, correction.model_dump_json())


def dedupe_corrections(corrections: Iterable[Correction]) -> list[Correction]:
    """One correction per ``correction_id``, oldest first (timestamp, then id)."""
    by_id: dict[str, Correction] = {}
    for correction in corrections:
        kept = by_id.get(correction.correction_id)
        if kept is None or _variant(correction) > _variant(kept):
            by_id[correction.correction_id] = correction
    return sorted(by_id.values(), key=_chronological)


def deciding_correction(corrections: Iterable[Correction]) -> Correction:
    """The correction whose expected categories become the labels (rule 2)."""
    return max(corrections, key=_rank)


def is_contested(corrections: Iterable[Correction], deciding: Correction) -> bool:
    """Rule 4: user reports decided, and they disagree on the expected categories."""
    if deciding.source != "user_report":
        return False
    views = {tuple(c.expected_categories) for c in corrections if c.source == "user_report"}
    return len(views) > 1


def merge_correction(
    existing: Sequence[Correction],
    new: Correction,
    *,
    limit: int = MAX_CORRECTIONS,
    max_bytes: int = MAX_CORRECTIONS_BYTES,
    sizes: Mapping[str, int] | None = None,
    new_size: int | None = None,
) -> list[Correction]:
    """Add ``new`` to a post's corrections: deduplicated, oldest first, at most ``limit`` of
    them and at most ``max_bytes`` of JSON (as :func:`stored_size` counts it).

    Over a bound, the lowest-ranked corrections go first (user reports before appeals before
    admin overrides, older before newer), so the deciding correction is always kept. Keeping the
    top of a total order gives the same list whatever the arrival order. The cost: a dropped
    report no longer shows in provenance nor counts towards ``contested``.
    ``sizes`` may give the :func:`correction_size` of ``existing`` by correction id, and
    ``new_size`` that of ``new``, so that a post's kept corrections are not measured again on
    every merge.
    Raises ValueError when the deciding correction alone is over ``max_bytes``.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    mismatched = {c.status_id for c in existing if c.status_id != new.status_id}
    if mismatched:
        raise ValueError(
            f"correction {new.correction_id} is for status {new.status_id}, "
            f"but the list holds status {', '.join(sorted(mismatched))}"
        )
    merged = dedupe_corrections([*existing, new])
    known = sizes or {}
    measured = {
        c.correction_id: (new_size if new_size is not None else correction_size(c))
        if c is new
        else known[c.correction_id]
        if c.correction_id in known
        else correction_size(c)
        for c in merged
    }
    if len(merged) <= limit and sum(measured.values()) + len(merged) + 1 <= max_bytes:
        return merged
    keep: set[str] = set()
    used = 1  # the list's brackets; each element adds its size and a comma
    for correction in sorted(merged, key=_rank, reverse=True)[:limit]:
        if used + measured[correction.correction_id] + 1 > max_bytes:
            if not keep:
                raise ValueError(
                    f"correction {correction.correction_id} alone takes "
                    f"{measured[correction.correction_id]} bytes, over the {max_bytes} allowed"
                )
            break
        keep.add(correction.correction_id)
        used += measured[correction.correction_id] + 1
    return [c for c in merged if c.correction_id in keep]


def _blank_to_none(value: str | None) -> str | None:
    return value if value and value.strip() else None


def _choose_text(
    used: Sequence[Correction], deciding: Correction, text: str | None, language: str | None
) -> tuple[str | None, str | None]:
    # The deciding correction's text is what its author judged, so it goes first; then the text
    # the caller knows (the text cache); then any other correction's, highest ranked first.
    if deciding.text is not None:
        return deciding.text, deciding.language or language
    if _blank_to_none(text) is not None:
        return text, language
    for correction in sorted(used, key=_rank, reverse=True):
        if correction.text is not None:
            return correction.text, correction.language or language
    return None, language


class Decision(NamedTuple):
    """What the rules make of one post's corrections: everything an example is built from."""

    status_id: str
    used: list[Correction]
    deciding: Correction
    text: str
    language: str | None
    contested: bool
    updated_at: datetime


def decide(
    status_id: str, corrections: Sequence[Correction], text: str | None, language: str | None
) -> Decision | None:
    """Apply the rules to a post's corrections; None while no text is known for it.

    Raises ValueError when ``corrections`` is empty or holds another post's corrections.
    """
    if not corrections:
        raise ValueError(f"no corrections for status {status_id}")
    strangers = sorted({c.status_id for c in corrections if c.status_id != status_id})
    if strangers:
        raise ValueError(
            f"corrections for status {', '.join(strangers)} passed for status {status_id}"
        )
    used = dedupe_corrections(corrections)
    deciding = deciding_correction(used)
    chosen_text, chosen_language = _choose_text(used, deciding, text, language)
    if chosen_text is None:
        return None
    return Decision(
        status_id=status_id,
        used=used,
        deciding=deciding,
        text=chosen_text,
        language=_blank_to_none(chosen_language),
        contested=is_contested(used, deciding),
        updated_at=max(c.timestamp for c in used),
    )


def require_zone(moment: datetime) -> datetime:
    """``moment`` in UTC; raises ValueError when it has no time zone."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("harvested_at needs a time zone")
    return moment.astimezone(UTC)


def build_training_example(
    status_id: str,
    corrections: Sequence[Correction],
    text: str | None,
    language: str | None,
    *,
    scored_model: str | None = None,
    scored_prompt_version: str | None = None,
    harvested_at: datetime,
) -> TrainingExample | None:
    """The training example of one post, or None while no text is known for it.

    ``text`` and ``language`` come from the text cache; they are used when the deciding
    correction carries no text. ``harvested_at`` must carry a time zone.
    Raises ValueError when ``corrections`` is empty or holds another post's corrections.
    """
    decision = decide(status_id, corrections, text, language)
    if decision is None:
        return None
    harvested_at = require_zone(harvested_at)
    deciding = decision.deciding
    # Built without validating again: every part comes from validated corrections or is
    # checked above, and validation was most of a correction's cost at thousands a second.
    # tests/harvest/test_harvest_policy.py checks that validating the result changes nothing.
    return TrainingExample.model_construct(
        status_id=status_id,
        text=decision.text,
        language=decision.language,
        labels=label_vector(deciding.expected_categories),
        feedback_type=deciding.feedback_type,
        original_prediction=deciding.actual_categories,
        corrected_to=deciding.expected_categories,
        contested=decision.contested,
        decided_by=deciding.source,
        deciding_correction_id=deciding.correction_id,
        provenance=[provenance_entry(c) for c in decision.used],
        scored_model=scored_model,
        scored_prompt_version=scored_prompt_version,
        updated_at=decision.updated_at,
        harvested_at=harvested_at,
    )


def provenance_entry(correction: Correction) -> ProvenanceEntry:
    """The correction as the example lists it, built without validating it again."""
    return ProvenanceEntry.model_construct(
        correction_id=correction.correction_id,
        source=correction.source,
        timestamp=correction.timestamp,
        feedback_type=correction.feedback_type,
        expected_categories=correction.expected_categories,
    )
