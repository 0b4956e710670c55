"""Posts longer than one LLM item, with their toxicity where a cut would drop it."""

from __future__ import annotations

import json
from typing import Any

#: Harmless words that score 0 on every category (numbered, so no two chunks are alike).
HARMLESS = "Punt {}: de gemeenteraad stemt vanavond over de begroting van volgend jaar. "
#: Scores 0.9 on threat: flagged at the default threshold.
TOXIC_PHRASE = "ik maak je af"
#: Scores 0.9 on dehumanization.
TOXIC_ALT = "a protest sign calling refugees vermin"


def padding(chars: int) -> str:
    """At least ``chars`` characters of harmless sentences."""
    sentences: list[str] = []
    while sum(map(len, sentences)) < chars:
        sentences.append(HARMLESS.format(len(sentences) + 1))
    return "".join(sentences)


def toxic_after_padding(status_id: str, chars: int = 5000) -> dict[str, Any]:
    """A post whose only toxic phrase comes after ``chars`` characters of harmless text."""
    return {
        "id": status_id, "created_at": "2026-11-01T12:00:00.000Z", "language": "nl",
        "content": f"<p>{padding(chars)}{TOXIC_PHRASE}</p>",
    }  # fmt: skip


def toxic_last_alt(status_id: str, body_chars: int = 3000) -> dict[str, Any]:
    """A long post with four images whose last alt text is the only toxic part."""
    alts = ["a tree by the canal", "the town hall at night", "a bicycle in the rain", TOXIC_ALT]
    return {
        "id": status_id, "created_at": "2026-11-01T12:00:00.000Z", "language": "en",
        "spoiler_text": "local politics",
        "content": f"<p>{padding(body_chars)}</p>",
        "media_attachments": [
            {"id": str(i), "type": "image", "description": alt} for i, alt in enumerate(alts)
        ],
    }  # fmt: skip


def as_bytes(status: dict[str, Any]) -> bytes:
    return json.dumps(status).encode()
