"""The posts ``streams bench classify`` sends: distinct, Dutch and English, one in three toxic.

Every text is different (it carries its status id), so with the repeat cache off every post
really goes to the LLM. The toxic ones use terms the lexicon knows, and the local LLM server
scores with the lexicon, so a post published with zeros instead of its real scores is visible.
"""

from __future__ import annotations

import html
import json
import random
from dataclasses import dataclass
from typing import Final

from streams.llm.lexicon import score_text
from streams.models.status import StatusToScore, parse_raw_record

#: Seven-digit ids: a number in a text never reads as a lexicon term (such as "1488").
FIRST_ID: Final = 1_000_000

_TOXIC: Final = (
    ("nl", "Die {who} in {place} zijn gewoon gelukszoekers"),
    ("nl", "Weer die linkse ratten, nu over {topic_nl}"),
    ("nl", "{who} zijn volksverraders, allemaal"),
    ("nl", "Omvolking in {place}, word wakker"),
    ("en", "The globalists decide {topic_en}, wake up"),
    ("en", "What an idiot, {who_en} are absolute morons"),
    ("en", "{who_en} are vermin, go back to your country"),
)
_BENIGN: Final = (
    ("nl", "De gemeenteraad van {place} stemt vanavond over {topic_nl}."),
    ("nl", "Ik ben het oneens met {who}, maar respect voor het werk aan {topic_nl}."),
    ("nl", "Morgen debat in {place} over {topic_nl}, kom luisteren!"),
    ("en", "Great debate tonight in {place} on {topic_en}."),
    ("en", "New figures on {topic_en} from {who_en}, worth a read."),
    ("en", "Finally some progress on {topic_en} in {place}!"),
)
_FILLERS: Final = {
    "place": ("Utrecht", "Groningen", "Rotterdam", "Zwolle", "Leeds", "Bristol", "Gent"),
    "who": ("de wethouders", "de ministers", "de raadsleden", "die Kamerleden"),
    "who_en": ("the councillors", "those ministers", "the MPs", "the party leaders"),
    "topic_nl": ("de begroting", "woningbouw", "stikstof", "de zorg", "het openbaar vervoer"),
    "topic_en": ("housing", "the budget", "bike lanes", "energy prices", "school funding"),
}


@dataclass(frozen=True)
class BenchPost:
    """One post: its record (key, Mastodon status JSON) and what the lexicon scores it."""

    status_id: str
    text: str
    language: str
    toxic: bool
    value: bytes

    @property
    def key(self) -> bytes:
        return self.status_id.encode()

    def parsed(self) -> StatusToScore:
        """The post as the classifier reads it from the raw topic."""
        parsed = parse_raw_record(self.key, self.value)
        if not isinstance(parsed, StatusToScore):
            raise ValueError(f"post {self.status_id} does not parse as a status to score")
        return parsed

    def expected_scores(self) -> dict[str, float]:
        """What the local LLM server (the lexicon) gives this post's text."""
        return score_text(self.parsed().text)


def _status_json(status_id: str, text: str, language: str) -> bytes:
    status = {
        "id": status_id,
        "created_at": "2026-11-01T12:00:00.000Z",
        "content": f"<p>{html.escape(text)}</p>",
        "language": language,
        "account": {"id": "7", "acct": "bench"},
    }
    return json.dumps(status).encode()


def make_posts(n: int, seed: int = 0) -> list[BenchPost]:
    """``n`` distinct posts; every third one (index 0, 3, 6, ...) is toxic."""
    rng = random.Random(seed)
    posts = []
    for index in range(n):
        toxic = index % 3 == 0
        templates = _TOXIC if toxic else _BENIGN
        language, template = templates[rng.randrange(len(templates))]
        fillers = {name: rng.choice(options) for name, options in _FILLERS.items()}
        status_id = str(FIRST_ID + index)
        text = f"{template.format(**fillers)} (#{status_id})"
        posts.append(
            BenchPost(status_id, text, language, toxic, _status_json(status_id, text, language))
        )
    return posts
