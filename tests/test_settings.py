"""Settings derived from others, and the rules the settings share with the records."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from streams.categories import CATEGORIES
from streams.models.scored import Timings, Usage, build_scored_status
from streams.settings import Settings


def test_posts_ahead_default_is_twice_what_the_batches_in_flight_need() -> None:
    settings = Settings(batch_size=25, max_batches_in_flight=4, max_posts_ahead=0)
    assert settings.posts_ahead_limit == 2 * 25 * 5


def test_posts_ahead_as_set() -> None:
    settings = Settings(batch_size=10, max_batches_in_flight=2, max_posts_ahead=500)
    assert settings.posts_ahead_limit == 500


def test_posts_ahead_never_starves_the_batches_in_flight() -> None:
    # Fewer would leave LLM slots idle while reading waits.
    settings = Settings(batch_size=50, max_batches_in_flight=4, max_posts_ahead=10)
    assert settings.posts_ahead_limit == 250


@pytest.mark.parametrize("threshold", [0, 0.0, -0.5, 1.5, "nan"])
def test_a_threshold_the_scored_record_would_refuse_is_refused_at_start(
    threshold: float | str,
) -> None:
    # One rule for both: a threshold the settings accept never makes every record invalid.
    with pytest.raises(ValidationError, match="flag_threshold"):
        Settings(flag_threshold=threshold)


@pytest.mark.parametrize("threshold", [0.01, 0.5, 1.0])
def test_every_threshold_the_settings_accept_builds_valid_records(threshold: float) -> None:
    settings = Settings(flag_threshold=threshold)
    record = build_scored_status(
        "1", "en", dict.fromkeys(CATEGORIES, 0.0), settings.flag_threshold,
        backend="lexicon", model="m", prompt_version="v",
        usage=Usage(input_tokens=0, output_tokens=0),
        timings=Timings(queued_ms=0, llm_ms=0, total_ms=0), scored_at=datetime.now(UTC),
    )  # fmt: skip
    assert record.threshold == threshold
