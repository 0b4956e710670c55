"""What the new prompt and reply format save against the seed's, measured with o200k_base."""

from __future__ import annotations

import json

import pytest

from streams.bench import format_comparison as seed_format
from streams.bench.format_comparison import compare_formats
from streams.categories import CATEGORIES
from streams.llm.prompt import PostToScore

BENIGN = [
    "Het kabinet moet beter luisteren naar de boeren.",
    "Great debate tonight, the minister made good points on housing.",
    "Vandaag stemmen! Iedere stem telt.",
    "I disagree with the new climate bill, it is too expensive.",
    "Morgen debat in de Tweede Kamer over de begroting van 2026.",
]
HOSTILE = ["Die linkse ratten verpesten alles", "Weer die gelukszoekers, omvolking!"]


@pytest.fixture
def mostly_benign_25() -> list[PostToScore]:
    """25 posts, 2 of them hostile: the usual shape of a batch."""
    texts = [BENIGN[i % len(BENIGN)] for i in range(23)] + HOSTILE
    return [PostToScore(str(i), t, "nl") for i, t in enumerate(texts)]


def test_seed_reply_lists_every_category_of_every_post() -> None:
    reply = json.loads(seed_format.seed_reply([{"toxic": 0.5}, {}]))
    assert list(reply) == ["1", "2"]
    assert list(reply["1"]) == list(CATEGORIES)
    assert reply["1"]["toxic"] == 0.5


def test_seed_messages_number_the_posts() -> None:
    system, user = seed_format.seed_messages(["a", "", "b"])
    assert system["content"] == seed_format.SEED_SYSTEM_PROMPT
    assert user["content"] == "[1] a\n\n[2] (empty)\n\n[3] b"


def test_our_format_is_much_cheaper(mostly_benign_25: list[PostToScore]) -> None:
    result = compare_formats(mostly_benign_25)
    assert result.ours.system_prompt_tokens < result.seed.system_prompt_tokens
    assert result.seed.completion_tokens_per_post > 80  # the seed: ~91 per post
    assert result.ours.completion_tokens_per_post < 8
    # Output costs 4x input: the whole request, weighted, is several times cheaper.
    ours = result.ours.prompt_tokens + 4 * result.ours.completion_tokens
    seed = result.seed.prompt_tokens + 4 * result.seed.completion_tokens
    assert ours * 3 < seed


def test_scores_must_match_posts(mostly_benign_25: list[PostToScore]) -> None:
    with pytest.raises(ValueError):
        compare_formats(mostly_benign_25, scores=[{}])
