"""Long posts through the classifier: scored in chunks, each category its maximum."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from long_posts import as_bytes, toxic_after_padding, toxic_last_alt

from streams.categories import CATEGORIES
from streams.kafka.records import Consumed, Outgoing
from streams.llm.lexicon import score_text
from streams.llm.prompt import PostToScore
from streams.llm.reply import FailedItem, FailureReason, ItemResult, ScoredItem
from streams.models.dead_letter import DeadLetterHeaders
from streams.models.scored import ScoredStatus
from streams.scoring.backend import BatchScores, LexiconBackend, ScoringBackend
from streams.scoring.batch import Classifier
from streams.scoring.chunked import plan_text, score_chunked
from streams.scoring.repeat_cache import RepeatCache


class CountingLexicon(LexiconBackend):
    """The lexicon, remembering each request's texts; fails items whose text holds a marker."""

    def __init__(self, fail_marker: str | None = None) -> None:
        self.requests: list[list[str]] = []
        self.fail_marker = fail_marker

    async def score_batch(self, posts: Sequence[PostToScore]) -> BatchScores:
        self.requests.append([p.text for p in posts])
        results: dict[str, ItemResult] = {}
        for post in posts:
            if self.fail_marker and self.fail_marker in post.text:
                results[post.status_id] = FailedItem(post.status_id, FailureReason.ITEM_MISSING)
            else:
                results[post.status_id] = ScoredItem(post.status_id, score_text(post.text))
        return BatchScores(results)


def process(backend: ScoringBackend, statuses: list[dict[str, object]], max_chars: int = 4000,
            items_per_call: int = 25) -> list[Outgoing]:  # fmt: skip
    classifier = Classifier(
        backend, threshold=0.5, max_attempts=2, max_text_chars=max_chars, cache=RepeatCache(100),
        items_per_call=items_per_call,
    )  # fmt: skip
    batch = [
        Consumed("raw", 0, i, str(s["id"]).encode(), as_bytes(s), time.monotonic())
        for i, s in enumerate(statuses)
    ]
    return asyncio.run(classifier.process(batch)).outputs


def scored(output: Outgoing) -> ScoredStatus:
    assert output.destination == "scored", output.reason
    return ScoredStatus.model_validate_json(output.value or b"")


def test_toxicity_past_the_budget_and_in_the_last_alt_text_is_flagged() -> None:
    backend = CountingLexicon()
    outputs = process(backend, [toxic_after_padding("1"), toxic_last_alt("2", 4500)])
    first, second = scored(outputs[0]), scored(outputs[1])
    assert first.flagged and first.scores.threat == 0.9
    assert second.flagged and second.scores.dehumanization == 0.9
    items = [text for request in backend.requests for text in request]
    assert all(len(text) <= 4000 for text in items)
    assert all(t.startswith("Content warning: local politics\n\n") for t in items
               if "canal" in t or "vermin" in t)  # fmt: skip


def test_a_budget_of_1000_is_honoured_and_short_posts_go_as_before() -> None:
    backend = CountingLexicon()
    short = {"id": "3", "content": "<p>you absolute moron</p>"}
    outputs = process(backend, [toxic_after_padding("1"), short], max_chars=1000)
    assert scored(outputs[0]).scores.threat == 0.9
    assert scored(outputs[1]).scores.insult == 0.6
    items = [text for request in backend.requests for text in request]
    assert "you absolute moron" in items, "a post that fits is one item, its own text"
    assert len(items) >= 7 and max(map(len, items)) <= 1000


def test_chunks_are_sent_at_most_items_per_call_a_request() -> None:
    backend = CountingLexicon()
    outputs = process(backend, [toxic_after_padding("1", 20_000)], max_chars=1000, items_per_call=5)
    assert scored(outputs[0]).flagged
    assert len(backend.requests) > 1 and max(map(len, backend.requests)) <= 5


def test_one_chunk_without_scores_dead_letters_the_post_never_zeros() -> None:
    backend = CountingLexicon(fail_marker="vermin")
    outputs = process(backend, [toxic_last_alt("2", 6000), {"id": "4", "content": "<p>hi</p>"}])
    assert outputs[0].destination == "dlq"
    headers = DeadLetterHeaders.from_headers(outputs[0].headers)
    assert (headers.stage, headers.reason, headers.attempts) == ("score", "item_missing", 2)
    assert scored(outputs[1]).scores.as_dict() == dict.fromkeys(CATEGORIES, 0.0)


def test_a_plain_long_text_is_scored_in_windows_keyed_as_its_case() -> None:
    text = toxic_after_padding("x", 9000)["content"].removeprefix("<p>").removesuffix("</p>")
    backend = CountingLexicon()
    post = plan_text("case-1", text, "nl", 2000)
    assert len(post.chunks) > 4 and all(len(c.text) <= 2000 for c in post.chunks)
    run = asyncio.run(score_chunked(backend, [post, plan_text("case-2", "hoi", None, 2000)], 1, 3))
    assert set(run.scored) == {"case-1", "case-2"} and not run.unscored
    assert run.scored["case-1"].scores["threat"] == 0.9
    assert max(map(len, backend.requests)) <= 3
