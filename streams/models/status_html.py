"""Mastodon's HTML ``content`` as the plain text a person reads.

Pure, and linear in time on hostile input (deep nesting, unclosable markup).
"""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser
from typing import Final

_BLOCKS: Final = frozenset(
    {"p", "div", "blockquote", "pre", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6"}
)
_VOID: Final = frozenset({"br", "img", "hr", "wbr", "input", "meta", "link", "source"})
_NEVER_SHOWN: Final = frozenset({"script", "style", "template", "head", "title"})
WHITESPACE = re.compile(r"\s+")
SURROGATE = re.compile(r"[\ud800-\udfff]")


class _TextRenderer(HTMLParser):
    """Renders Mastodon's status HTML the way its web UI shows it, as plain text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        # Open elements (tag, hidden, ellipsis), kept to match the end tags of sloppy remote
        # HTML. Counts instead of scans keep hostile nesting linear.
        self._open: list[tuple[str, bool, bool]] = []
        self._open_tags: Counter[str] = Counter()
        self._hidden = 0

    def parse_marked_section(self, i: int, report: bool = True) -> int:
        try:
            return super().parse_marked_section(i, report)
        except AssertionError:
            # html.parser raises on a marked section it does not know ("<![foo[", "<![1"):
            # read it as browsers do, as a bogus comment up to the next ">".
            return self.parse_bogus_comment(i, report=False)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self._hidden:
            if tag == "br":
                self.parts.append("\n")
            elif tag in _BLOCKS:
                self.parts.append("\n\n")
            elif tag == "li":
                self.parts.append("\n")
        if tag in _VOID:
            return
        classes = (dict(attrs).get("class") or "").split()
        hidden = "invisible" in classes or tag in _NEVER_SHOWN
        self._open.append((tag, hidden, "ellipsis" in classes))
        self._open_tags[tag] += 1
        self._hidden += hidden

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS and not self._hidden:
            self.parts.append("\n\n")
        if not self._open_tags[tag]:
            return  # a stray end tag: browsers ignore it too
        while self._open:
            open_tag, hidden, ellipsis = self._open.pop()
            self._open_tags[open_tag] -= 1
            self._hidden -= hidden
            if ellipsis and not hidden and not self._hidden:
                # Mastodon's CSS draws a "…" after a shortened link's visible part.
                self.parts.append("…")
            if open_tag == tag:
                return

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if self._open_tags["pre"]:
            lines = data.split("\n")
            self.parts.append("\n".join(WHITESPACE.sub(" ", line) for line in lines))
        else:
            self.parts.append(WHITESPACE.sub(" ", data))


def html_to_text(html: str) -> str:
    """Plain text of a status's HTML ``content``, as a person reads it in Mastodon's web UI.

    Entities are decoded, ``<br>`` becomes a newline, paragraphs are separated by a blank line,
    links show their visible text (``invisible`` parts dropped, ``ellipsis`` parts end in "…"),
    and mentions and hashtags read as ``@user`` and ``#tag``.
    """
    text = _plain_paragraphs(html)
    if text is None:
        renderer = _TextRenderer()
        renderer.feed(_escape_unclosable(html))
        renderer.close()
        text = "".join(renderer.parts)
    text = re.sub(r"[ \t]*\n[ \t]*", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    text = re.sub(r" {2,}", " ", text)
    return text.strip()


_PLAIN_TAG: Final = re.compile(r"<(/?p|br ?/?)>")


def _plain_paragraphs(html: str) -> str | None:
    """What the renderer's parts join to, for text in bare ``<p>`` and ``<br>`` tags only
    (most posts); None for anything else, which the renderer reads.

    html.parser took 24 us for one short paragraph, most of a post's cost in the harvester.
    tests/models/test_status_text.py holds the two to the same result.
    """
    if "&" in html:
        return None
    pieces = _PLAIN_TAG.split(html)
    parts = []
    for index, piece in enumerate(pieces):
        if index % 2:  # a tag, as the renderer's handlers write it
            parts.append("\n" if piece.startswith("br") else "\n\n")
        elif "<" in piece or ">" in piece:
            return None
        else:
            parts.append(WHITESPACE.sub(" ", piece))
    return "".join(parts)


_COMMENT_CLOSE: Final = re.compile(r"--\s*>")
# Marked sections: CDATA-like ones end at "]]>", MS Office's ("<![if ...]>") at "]>".
_SECTION_CLOSE: Final = re.compile(r"]\s*]\s*>")
_MS_SECTION_CLOSE: Final = re.compile(r"]\s*>")
_CDATA_LIKE: Final = re.compile(
    r"<!\[(?=(?:temp|cdata|ignore|include|rcdata)(?![-_.a-zA-Z0-9]))", re.IGNORECASE
)


def _end_of_last(html: str, close: re.Pattern[str]) -> int:
    return max((m.end() for m in close.finditer(html)), default=0)


def _escape_from(html: str, start: int, opener: str) -> str:
    if opener not in html[start:]:
        return html
    return html[:start] + html[start:].replace(opener, "&lt;" + opener[1:])


def _escape_unclosable(html: str) -> str:
    """``html`` with every markup opener that nothing closes written as text (``&lt;``).

    html.parser shows such an opener as text anyway, but first searches the whole rest of the
    input for its closer, once per opener: quadratic. A megabyte of ``</`` or ``<?`` (no
    ``>`` after them) took 80 s, 50 kB of ``<!--`` without a ``-->`` after them 0.7 s. Escaped,
    the input is read in one pass. Openers that something closes are parsed as before.
    """
    html = _escape_from(html, _end_of_last(html, _COMMENT_CLOSE), "<!--")
    ms_end = _end_of_last(html, _MS_SECTION_CLOSE)
    html = _escape_from(html, ms_end, "<![")
    cdata_end = _end_of_last(html[:ms_end], _SECTION_CLOSE)
    if "<![" in html[cdata_end:ms_end]:
        between = _CDATA_LIKE.sub("&lt;![", html[cdata_end:ms_end])
        html = html[:cdata_end] + between + html[ms_end:]
    return _escape_from(html, html.rfind(">") + 1, "<")
