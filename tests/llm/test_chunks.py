"""Chunking a post longer than one item, and merging its chunks' scores: pure properties."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.categories import CATEGORIES
from streams.llm.chunks import (
    chunk_sections,
    merge_max,
    overlap_chars,
    window_spans,
    windows,
)
from streams.llm.lexicon import score_text
from streams.models.status_sections import StatusSections, build_sections

WORDS = st.text(alphabet="abcdefghij", min_size=1, max_size=12)
PROSE = st.lists(WORDS, max_size=400).map(" ".join)
ANY_TEXT = st.text(alphabet=st.sampled_from("ab \n\tc"), max_size=3000)


@given(ANY_TEXT, st.integers(4, 300))
def test_windows_cover_every_phrase_up_to_the_overlap(text: str, width: int) -> None:
    overlap = overlap_chars(width)
    spans = window_spans(text, width, overlap)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(0 < b - a <= width for a, b in spans) or text == ""
    starts = [a for a, _ in spans]
    assert starts == sorted(set(starts)), "every window starts further on"
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end - start >= overlap
    for i in range(0, max(1, len(text) - overlap + 1), 7):
        phrase = (i, min(len(text), i + overlap))
        assert any(a <= phrase[0] and phrase[1] <= b for a, b in spans), phrase


@given(PROSE, st.integers(64, 400))
def test_windows_cut_between_words(text: str, width: int) -> None:
    # Words of at most 12 characters: a space is always within reach of a cut.
    vocabulary = set(text.split())
    for window in windows(text, width):
        assert set(window.split()) <= vocabulary, "a word was cut into another word"


def test_windows_refuse_an_overlap_that_could_stall() -> None:
    with pytest.raises(ValueError):
        window_spans("x" * 100, 8, 3)


def sections(warning: str = "", body: str = "", polls: tuple[str, ...] = (),
             alts: tuple[str, ...] = ()) -> StatusSections:  # fmt: skip
    return build_sections(warning, body, polls, alts, 50_000)


def test_a_text_that_fits_is_one_item_exactly_its_text() -> None:
    s = sections("politics", "short body", ("yes", "no"), ("a cat",))
    assert chunk_sections(s, 4000) == [s.text()]
    assert chunk_sections(sections(), 4000) == []


def test_the_end_of_a_long_body_and_the_last_alt_text_are_scored() -> None:
    body = "De gemeenteraad vergadert vanavond over de begroting. " * 100 + "linkse ratten"
    alts = ("a tree", "a river", "a bridge", "a sign saying you absolute moron")
    s = sections("politiek", body, alts=alts)
    assert len(s.text()) > 5000
    chunks = chunk_sections(s, 2000)
    assert all(len(c) <= 2000 for c in chunks)
    assert all(c.startswith("Content warning: politiek\n\n") for c in chunks)
    assert any(c.endswith("linkse ratten") for c in chunks)
    assert any("Alt text: a sign saying you absolute moron" in c for c in chunks)
    merged = merge_max(score_text(c) for c in chunks)
    assert merged == score_text(s.text())
    assert merged["dehumanization"] > 0.5 and merged["insult"] > 0.5


def test_a_long_content_warning_is_cut_at_the_head_and_scored_whole_apart() -> None:
    warning = "word " * 300 + "kill yourself"
    s = sections(warning, "body " * 500)
    chunks = chunk_sections(s, 400)
    assert all(len(c) <= 400 for c in chunks)
    heads = {c.split("\n\n")[0] for c in chunks if "\n\n" in c}
    assert len(heads) == 1 and len(heads.pop()) <= 100
    assert any("kill yourself" in c for c in chunks)


@given(
    warning=st.text(alphabet="wx ", max_size=300),
    body=PROSE,
    alts=st.lists(st.text(alphabet="abc ", min_size=1, max_size=700), max_size=6),
    polls=st.lists(st.text(alphabet="pq ", min_size=1, max_size=60), max_size=4),
    max_chars=st.integers(100, 1500),
)
def test_every_chunk_fits_and_keeps_its_context(
    warning: str, body: str, alts: list[str], polls: list[str], max_chars: int
) -> None:
    s = sections(warning, body, tuple(polls), tuple(alts))
    chunks = chunk_sections(s, max_chars)
    if len(s.text()) <= max_chars:
        assert chunks == ([s.text()] if s.text() else [])
        return
    assert chunks and all(len(c) <= max_chars for c in chunks)
    if s.warning and len(s.warning) <= max_chars // 4:
        assert all(c.startswith(s.warning + "\n\n") for c in chunks)
    head = len(s.warning) + 2 if s.warning else 0
    width = max_chars - head
    for line in s.lines:
        if len(line) <= width - 4:
            assert any(line in c.split("\n") for c in chunks), "a line was split or dropped"
    step = overlap_chars(width - 2)  # the narrowest window any chunk body had
    for i in range(0, max(1, len(s.body) - step + 1), 11):
        assert any(s.body[i : i + step] in c for c in chunks)


@given(st.lists(st.dictionaries(st.sampled_from(CATEGORIES), st.floats(0, 1)), min_size=1))
def test_merge_takes_each_categorys_maximum(scores: list[dict[str, float]]) -> None:
    merged = merge_max(scores)
    assert list(merged) == list(CATEGORIES)
    for category in CATEGORIES:
        assert merged[category] == max(s.get(category, 0.0) for s in scores)
    assert merge_max(reversed(scores)) == merged
    assert merge_max([merged, *scores]) == merged


def test_merge_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError):
        merge_max([])


def test_sections_cut_the_body_never_the_warning_or_alt_texts() -> None:
    s = build_sections("cw", "b" * 100, ["opt"], ["alt one", "alt two"], 100)
    assert len(s.text()) == 100
    assert s.warning == "Content warning: cw" and s.polls == ("Poll option: opt",)
    assert s.alts == ("Alt text: alt one", "Alt text: alt two") and s.body == "b" * 24
    hostile = build_sections("", "", [], ["x" * 30] * 1000, 500)
    assert len(hostile.text()) <= 500 and hostile.alts
