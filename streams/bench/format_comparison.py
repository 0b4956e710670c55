"""The seed classifier's prompt and reply format, restated, to measure what ours saves.

The seed numbered its posts ("[1] text", so a text could forge "[2]") and wanted all twelve
categories of every post back, zeros included. Nothing scores with this format; benchmarks
render it next to ours for the same posts and compare token counts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from streams.categories import CATEGORIES, DEFINITIONS
from streams.llm import prompt
from streams.llm.lexicon import score_text
from streams.llm.tokens import count_chat_tokens, count_tokens

_SEED_MAX_CHARS: Final = 2000


def _seed_example() -> str:
    benign = dict.fromkeys(CATEGORIES, 0.0)
    mild = {**benign, "toxic": 0.3, "insult": 0.2}
    return json.dumps({"1": benign, "2": mild}, separators=(",", ":"))


SEED_SYSTEM_PROMPT: Final = f"""\
You are a toxicity classifier for Dutch and English social media posts about politics.
You will receive one or more numbered posts. Score EACH post on every category from 0.0 (none) \
to 1.0 (extreme).
Respond ONLY with a JSON object mapping post numbers (as strings) to their scores. No other text.

Categories:
{chr(10).join(f"- {c.value}: {d}" for c, d in DEFINITIONS.items())}

Important context:
- Many posts are in Dutch. Handle Dutch slang, insults, and coded political language.
- Dutch-specific coded terms: "gelukszoekers", "kutmarokkanen", "omvolking", "landverrader", \
"volksverrader", "linkse ratten", "wappie", "tokkie" — score appropriately based on context.
- Political disagreement and criticism are NOT toxic — only score actual hostility, hate, or \
threats.
- Satire and parody accounts may use irony — consider context but still score the literal content.
- A score of 0.0 means the category is completely absent. A score of 1.0 means extreme/explicit.
- Most posts will score 0.0 on most categories. Only flag genuine toxicity.

Example for 2 posts:
{_seed_example()}"""


def seed_messages(texts: Sequence[str]) -> list[dict[str, str]]:
    """The seed's request: its system prompt and the numbered posts."""
    parts = []
    for number, text in enumerate(texts, 1):
        body = (text or "").strip()[:_SEED_MAX_CHARS] or "(empty)"
        parts.append(f"[{number}] {body}")
    return [
        {"role": "system", "content": SEED_SYSTEM_PROMPT},
        {"role": "user", "content": "\n\n".join(parts)},
    ]


def seed_reply(scores: Sequence[Mapping[str, float]]) -> str:
    """The seed's reply: every category of every post, compact, one decimal as in its example."""
    body = {
        str(number): {c: round(float(s.get(c, 0.0)), 2) for c in CATEGORIES}
        for number, s in enumerate(scores, 1)
    }
    return json.dumps(body, separators=(",", ":"))


@dataclass(frozen=True)
class FormatCost:
    """Token counts (o200k_base) of one batch in one format."""

    system_prompt_tokens: int
    prompt_tokens: int
    completion_tokens: int
    posts: int

    @property
    def completion_tokens_per_post(self) -> float:
        return self.completion_tokens / self.posts


@dataclass(frozen=True)
class FormatComparison:
    ours: FormatCost
    seed: FormatCost


def compare_formats(
    posts: Sequence[prompt.PostToScore],
    scores: Sequence[Mapping[str, float]] | None = None,
) -> FormatComparison:
    """Render the same posts and scores (default: the lexicon's) in both formats and count."""
    if scores is None:
        scores = [score_text(post.text) for post in posts]
    if len(scores) != len(posts):
        raise ValueError("need one score mapping per post")
    request = prompt.build_messages(posts)
    ours_reply = prompt.render_reply(zip(request.item_ids, scores, strict=True))
    seed_msgs = seed_messages([post.text for post in posts])
    return FormatComparison(
        ours=FormatCost(
            system_prompt_tokens=count_tokens(prompt.SYSTEM_PROMPT),
            prompt_tokens=count_chat_tokens(request.messages),
            completion_tokens=count_tokens(ours_reply),
            posts=len(posts),
        ),
        seed=FormatCost(
            system_prompt_tokens=count_tokens(SEED_SYSTEM_PROMPT),
            prompt_tokens=count_chat_tokens(seed_msgs),
            completion_tokens=count_tokens(seed_reply(scores)),
            posts=len(posts),
        ),
    )
