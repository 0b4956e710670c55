"""The demo's bundled sample of Mastodon statuses: valid input with the mix the demo needs.

The sample stands in for a live instance when there is no network: mostly ordinary political
posts, a quarter hostile ones in every category, and the awkward cases (boosts, content
warnings, alt text, edits, unknown language, copy-paste campaigns) the pipeline must handle.
"""

from __future__ import annotations

import json
from collections import Counter
from importlib.resources import files
from typing import Any

import pytest

from streams.categories import CATEGORIES
from streams.llm.lexicon import score_text
from streams.models.status import StatusToScore, parse_raw_record

SAMPLE = files("streams") / "data" / "sample_statuses.jsonl"
FLAGGED = 0.5


@pytest.fixture(scope="module")
def lines() -> list[bytes]:
    return SAMPLE.read_bytes().splitlines()


@pytest.fixture(scope="module")
def records(lines: list[bytes]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def posts(lines: list[bytes]) -> list[StatusToScore]:
    parsed = []
    for number, line in enumerate(lines, 1):
        # Keyed as the produce command keys it: by the record's own id.
        key = json.loads(line)["id"].encode()
        post = parse_raw_record(key, line)
        assert isinstance(post, StatusToScore), f"line {number} is not a status to score"
        parsed.append(post)
    return parsed


def flagged(post: StatusToScore) -> set[str]:
    return {c for c, score in score_text(post.text).items() if score >= FLAGGED}


def test_about_300_statuses_one_per_line(lines: list[bytes]) -> None:
    assert 280 <= len(lines) <= 330
    assert all(line.strip() for line in lines), "no blank lines"


def test_every_line_parses(posts: list[StatusToScore], lines: list[bytes]) -> None:
    assert len(posts) == len(lines)
    assert all(post.text for post in posts)


def test_ids_are_unique_numeric_strings(records: list[dict[str, Any]]) -> None:
    ids = [r["id"] for r in records]
    assert len(set(ids)) == len(ids)
    assert all(isinstance(i, str) and i.isdigit() for i in ids)


def test_a_boosted_status_in_the_sample_is_the_same_status(records: list[dict[str, Any]]) -> None:
    by_id = {r["id"]: r for r in records}
    for record in records:
        boosted = record["reblog"]
        if boosted is not None and boosted["id"] in by_id:
            assert boosted["content"] == by_id[boosted["id"]]["content"]


def test_boosts_including_several_of_one_status(posts: list[StatusToScore]) -> None:
    boosts = [p for p in posts if p.reblog_of is not None]
    assert len(boosts) >= 10
    assert all(p.reblog_of != p.status_id for p in boosts)
    times_boosted = Counter(p.reblog_of for p in boosts)
    assert max(times_boosted.values()) >= 2


def test_content_warnings_alt_texts_and_edits(posts: list[StatusToScore]) -> None:
    assert sum(p.status.spoiler_text != "" for p in posts) >= 10
    assert sum(p.text.startswith("Content warning: ") for p in posts) >= 10
    with_alt = [p for p in posts if any(m.description for m in p.status.media_attachments)]
    assert len(with_alt) >= 8
    assert all("\nAlt text: " in p.text for p in with_alt)
    assert sum(p.edited for p in posts) >= 5


def test_languages_mostly_dutch_some_unknown(posts: list[StatusToScore]) -> None:
    languages = Counter(p.language for p in posts)
    assert languages[None] >= 5
    assert set(languages) == {"nl", "en", None}
    dutch_share = languages["nl"] / (languages["nl"] + languages["en"])
    assert 0.5 <= dutch_share <= 0.7


def test_copy_paste_duplicates(posts: list[StatusToScore]) -> None:
    first_id: dict[str, str] = {}
    copies = 0
    for post in posts:
        if post.reblog_of is not None:
            continue
        if first_id.setdefault(post.text, post.status_id) != post.status_id:
            copies += 1
    assert copies >= 5


def test_lexicon_flags_every_category_on_at_least_three_posts(posts: list[StatusToScore]) -> None:
    texts: dict[str, set[str]] = {c: set() for c in CATEGORIES}
    for post in posts:
        for category in flagged(post):
            texts[category].add(post.text)
    # Distinct texts, so neither copies nor boosts of one post count twice.
    assert {c: len(t) for c, t in texts.items() if len(t) < 3} == {}


def test_benign_posts_are_the_majority(posts: list[StatusToScore]) -> None:
    share = sum(bool(flagged(p)) for p in posts) / len(posts)
    assert 0.1 <= share <= 0.35
