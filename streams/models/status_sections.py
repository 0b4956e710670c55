"""The sections of a status's text: content warning, body, poll options and alt texts.

Pure. The classifier reads a status as these sections joined into one text; a text longer than
one LLM item is scored in chunks built from the sections (``streams.llm.chunks``), so that the
content warning goes with every chunk and alt texts are never what falls off the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

from streams.models.status_html import SURROGATE, WHITESPACE

WARNING_LABEL: Final = "Content warning: "
POLL_LABEL: Final = "Poll option: "
ALT_LABEL: Final = "Alt text: "


@dataclass(frozen=True, slots=True)
class StatusSections:
    """The parts of a status's text as the model reads them: ``warning`` is
    ``Content warning: <spoiler text>`` (or ""), ``polls`` and ``alts`` are labelled lines."""

    warning: str = ""
    body: str = ""
    polls: tuple[str, ...] = ()
    alts: tuple[str, ...] = ()

    @property
    def lines(self) -> tuple[str, ...]:
        """Poll option lines, then alt text lines."""
        return self.polls + self.alts

    def text(self) -> str:
        """Non-empty sections separated by a blank line, poll and alt lines one per line."""
        parts = (self.warning, self.body, "\n".join(self.polls), "\n".join(self.alts))
        return "\n\n".join(part for part in parts if part)


def _clean(text: str) -> str:
    # A lone surrogate (from a "\ud800" JSON escape) cannot be encoded to UTF-8 downstream.
    return SURROGATE.sub("\ufffd", WHITESPACE.sub(" ", text).strip())


def build_sections(
    spoiler_text: str,
    body: str,
    poll_options: Sequence[str],
    descriptions: Sequence[str],
    max_chars: int,
) -> StatusSections:
    """The sections of a status whose body is already plain text; empty lines left out.

    Their ``text()`` is at most ``max_chars``: the body's end gives way, so the content warning
    and the alt texts are never the part dropped. Only a hostile remote post whose warning,
    poll options and alt texts alone exceed the limit loses its last lines.
    """
    warning = _clean(spoiler_text)
    sections = StatusSections(
        WARNING_LABEL + warning if warning else "",
        SURROGATE.sub("\ufffd", body),
        tuple(POLL_LABEL + o for o in map(_clean, poll_options) if o),
        tuple(ALT_LABEL + a for a in map(_clean, descriptions) if a),
    )
    over = len(sections.text()) - max_chars
    if over > 0:
        sections = replace(sections, body=sections.body[: max(0, len(sections.body) - over)])
    if len(sections.text()) > max_chars:
        # The body is gone: keep the lines that fit, in order (each counted with a separator).
        room = max_chars - len(sections.warning) - 2
        kept = 0
        for line in sections.lines:
            room -= len(line) + 2
            if room < 0:
                break
            kept += 1
        polls = sections.polls[:kept]
        sections = replace(sections, polls=polls, alts=sections.alts[: kept - len(polls)])
    if len(sections.text()) > max_chars:
        sections = replace(sections, warning=sections.warning[:max_chars])
    return sections
