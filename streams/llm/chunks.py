"""A post longer than one LLM item, as overlapping chunks that each fit one; and the merge of
their scores (each category's maximum).

Pure. ``STREAMS_MAX_TEXT_CHARS`` is the budget of one item of a request. A post whose text fits
is one item, exactly its text. A longer one becomes several items:

* the body in windows that overlap by ``overlap_chars(width)``, so any phrase up to that
  length lies whole inside one window; windows end and start at whitespace when there is some
  in reach, so no word is cut into another word (a cut "idiotically" would read "idiot");
* poll option and alt text lines packed into chunks of their own, whole lines where they fit
  (a longer line is split into overlapping windows, each keeping its label), so the alt texts
  are never what falls off the end behind a long body;
* the content warning at the head of every chunk, so each is read in its context; a warning
  longer than a quarter of the budget is cut there at the head and scored whole in windows of
  its own.

A post scores, on each category, the maximum over its chunks: toxicity anywhere in the post
is toxicity of the post.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from streams.categories import CATEGORIES
from streams.models.status_sections import ALT_LABEL, POLL_LABEL, StatusSections

#: Separator between a chunk's content-warning head and its content.
HEAD_SEPARATOR: Final = "\n\n"
#: Shortest overlap between windows (when the window allows it): longer than most phrases.
MIN_OVERLAP: Final = 64


def overlap_chars(width: int) -> int:
    """How much consecutive windows of ``width`` characters share: an eighth, but at least
    ``MIN_OVERLAP`` (up to a quarter of the window)."""
    return max(width // 8, min(MIN_OVERLAP, width // 4))


def _last_space(text: str, lo: int, hi: int) -> int | None:
    """Index of the last whitespace character in ``text[lo:hi]``, if any."""
    for index in range(min(hi, len(text)) - 1, max(lo, 0) - 1, -1):
        if text[index].isspace():
            return index
    return None


def window_spans(text: str, width: int, overlap: int) -> list[tuple[int, int]]:
    """``[start, end)`` spans covering ``text``, each at most ``width`` long, consecutive spans
    sharing at least ``overlap`` characters (``overlap`` at most ``width // 4``)."""
    if width < 4 or not 0 <= overlap <= width // 4:
        raise ValueError(f"need width >= 4 and 0 <= overlap <= width // 4, got {width}, {overlap}")
    spans: list[tuple[int, int]] = []
    start = 0
    while start + width < len(text):
        end = start + width
        # End before a whitespace in the window's second half (text[end] counts: a clean cut).
        space = _last_space(text, start + width // 2, end + 1)
        end = space if space is not None else end
        spans.append((start, end))
        # Back by the overlap, then to the start of a word if one begins within another overlap;
        # the end is at least width // 2 past the start, so the next start moves forward.
        following = end - overlap
        space = _last_space(text, max(start + 1, following - overlap), following)
        start = space + 1 if space is not None else following
    spans.append((start, len(text)))
    return spans


def windows(text: str, width: int) -> list[str]:
    """``text`` in overlapping windows of at most ``width`` characters."""
    return [text[a:b] for a, b in window_spans(text, width, overlap_chars(width))]


def _pack_lines(lines: Iterable[str], width: int) -> list[str]:
    """Whole lines joined by newlines into chunks of at most ``width``; a longer line split
    into overlapping windows that each keep its label."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        if len(line) > width:
            label = next((x for x in (ALT_LABEL, POLL_LABEL) if line.startswith(x)), "")
            room = width - len(label)
            if room < 4:
                label, room = "", width
            chunks.extend(label + part for part in windows(line[len(label) :], room))
        elif not current:
            current = line
        elif len(current) + 1 + len(line) <= width:
            current += "\n" + line
        else:
            chunks.append(current)
            current = line
    if current:
        chunks.append(current)
    return chunks


def chunk_sections(sections: StatusSections, max_chars: int) -> list[str]:
    """The item texts scoring ``sections``: its text when that fits ``max_chars``, else the
    chunks described above, each at most ``max_chars`` long. Empty for an empty text."""
    text = sections.text()
    if len(text) <= max_chars:
        return [text] if text else []
    head, spill = sections.warning, []
    if len(head) > max_chars // 4:
        cut = _last_space(head, max_chars // 8, max_chars // 4 - 1)
        head = head[: cut if cut is not None else max_chars // 4 - 1] + "…"
        spill = windows(sections.warning, max_chars)
    prefix = head + HEAD_SEPARATOR if head else ""
    width = max_chars - len(prefix)
    contents = windows(sections.body, width) if sections.body else []
    contents += _pack_lines(sections.lines, width)
    if not contents:
        return spill or windows(text, max_chars)
    return [prefix + content for content in contents] + spill


def merge_max(chunk_scores: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """Each category's maximum over the chunks' scores (a missing category counts as 0).

    Raises ValueError for no chunks: a post is never given scores nobody gave it.
    """
    merged: dict[str, float] | None = None
    for scores in chunk_scores:
        if merged is None:
            merged = dict.fromkeys(CATEGORIES, 0.0)
        for category in CATEGORIES:
            merged[category] = max(merged[category], float(scores.get(category, 0.0)))
    if merged is None:
        raise ValueError("merge_max needs the scores of at least one chunk")
    return merged
