"""Settings derived from others."""

from __future__ import annotations

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
