"""The directly written example JSON is byte for byte what the model serialises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.categories import CATEGORIES
from streams.harvest.example_json import provenance_json, training_example_json
from streams.harvest.policy import build_training_example
from streams.models.corrections import Correction, FeedbackType, Source, TrainingExample

# Text with what JSON must escape (quotes, backslashes, control characters) and what it must
# not (non-ASCII letters, emoji, U+2028, DEL).
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"])
    | st.sampled_from('"\\\n\t\x00\x7f\u2028é🙂'),
    min_size=1,
    max_size=40,
).filter(str.strip)
IDS = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=12
)
ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))]
)
MOMENTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2026, 1, 1), timezones=ZONES
)


@st.composite
def post_corrections(draw: st.DrawFn) -> tuple[str, list[Correction]]:
    status_id = draw(IDS)
    corrections = [
        Correction(
            correction_id=cid,
            status_id=status_id,
            feedback_type=draw(st.sampled_from(get_args(FeedbackType))),
            source=draw(st.sampled_from(get_args(Source))),
            expected_categories=draw(st.lists(st.sampled_from(CATEGORIES), max_size=4)),
            actual_categories=draw(st.lists(st.sampled_from(CATEGORIES), max_size=4)),
            text=draw(st.none() | TEXT),
            language=draw(st.none() | st.sampled_from(["nl", "en", "pt-BR"])),
            timestamp=draw(MOMENTS),
        )
        for cid in draw(st.lists(IDS, min_size=1, max_size=6, unique=True))
    ]
    return status_id, corrections


@settings(max_examples=300, deadline=None)
@given(
    post=post_corrections(),
    text=st.none() | TEXT,
    language=st.none() | st.sampled_from(["nl", "en", " "]),
    harvested_at=MOMENTS,
    cached=st.booleans(),
)
def test_the_bytes_are_what_the_model_serialises(
    post: tuple[str, list[Correction]],
    text: str | None,
    language: str | None,
    harvested_at: datetime,
    cached: bool,
) -> None:
    status_id, corrections = post
    provenance = {c.correction_id: provenance_json(c) for c in corrections} if cached else {}
    written = training_example_json(
        status_id, corrections, provenance, text, language, harvested_at=harvested_at
    )
    example = build_training_example(
        status_id, corrections, text, language, harvested_at=harvested_at
    )
    if example is None:
        assert written is None
        return
    assert written == example.to_bytes()
    assert TrainingExample.model_validate_json(written) == example


def test_it_refuses_what_the_model_builder_refuses() -> None:
    correction = Correction(
        correction_id="c1", status_id="s1", feedback_type="other", source="appeal",
        text="a post", timestamp=datetime(2026, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    with pytest.raises(ValueError, match="time zone"):
        training_example_json("s1", [correction], {}, None, None, harvested_at=datetime(2026, 2, 1))
    with pytest.raises(ValueError, match="status s1 passed for status s2"):
        training_example_json("s2", [correction], {}, None, None, harvested_at=datetime.now(UTC))
    with pytest.raises(ValueError, match="no corrections"):
        training_example_json("s1", [], {}, None, None, harvested_at=datetime.now(UTC))
