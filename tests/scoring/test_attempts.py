"""Per-post attempts and the classifier pipeline, with a scripted in-process backend."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence

from streams.categories import CATEGORIES
from streams.errors import LLMUnavailableError, RetriableLLMError
from streams.kafka.records import Consumed
from streams.llm.prompt import PostToScore
from streams.llm.reply import FailedItem, FailureReason, ItemResult, ScoredItem
from streams.models.dead_letter import DeadLetterHeaders
from streams.models.scored import ScoredStatus
from streams.scoring.attempts import groups_for_attempt, score_with_attempts
from streams.scoring.backend import BatchScores, TokenUsage
from streams.scoring.batch import Classifier
from streams.scoring.repeat_cache import RepeatCache, text_key

ZEROS = dict.fromkeys(CATEGORIES, 0.0)


class ScriptedBackend:
    """Fails the posts whose text contains a marker, a given number of times each."""

    name = "scripted"
    model = "scripted-1"
    prompt_version = "test"

    def __init__(
        self, fail_times: dict[str, int], unavailable_calls: int = 0, rejected_calls: int = 0,
        raises_on: str | None = None,
    ) -> None:  # fmt: skip
        self.fail_times = dict(fail_times)
        self.unavailable_calls = unavailable_calls
        self.rejected_calls = rejected_calls
        self.raises_on = raises_on
        self.calls: list[list[str]] = []

    async def score_batch(self, posts: Sequence[PostToScore]) -> BatchScores:
        self.calls.append([p.text for p in posts])
        if self.unavailable_calls:
            self.unavailable_calls -= 1
            raise LLMUnavailableError("503 from the endpoint", "server_error")
        if self.rejected_calls:
            self.rejected_calls -= 1
            raise RetriableLLMError("request rejected (413)")
        if self.raises_on is not None and any(self.raises_on in p.text for p in posts):
            raise KeyError("a bug that only some posts trigger")
        results: dict[str, ItemResult] = {}
        for post in posts:
            left = self.fail_times.get(post.text, 0)
            if left:
                self.fail_times[post.text] = left - 1
                results[post.status_id] = FailedItem(post.status_id, FailureReason.ITEM_MISSING)
            else:
                scores = {**ZEROS, "insult": 0.8 if "idiot" in post.text else 0.0}
                results[post.status_id] = ScoredItem(post.status_id, scores)
        return BatchScores(results, usage=TokenUsage(100 * len(posts), 0, 5 * len(posts)))

    async def close(self) -> None:
        return None


def posts(*texts: str) -> list[PostToScore]:
    return [PostToScore(f"s{i}", t, "en") for i, t in enumerate(texts)]


def test_groups_whole_then_together_then_alone() -> None:
    batch = posts("a", "b", "c")
    assert groups_for_attempt(1, batch) == [batch]
    assert groups_for_attempt(2, batch) == [batch]
    assert groups_for_attempt(3, batch) == [[p] for p in batch]


def test_failed_post_is_asked_again_and_scored() -> None:
    backend = ScriptedBackend({"flaky": 2})
    run = asyncio.run(score_with_attempts(backend, posts("fine", "flaky", "idiot"), 3))
    assert set(run.scored) == {"s0", "s1", "s2"} and not run.unscored
    assert backend.calls == [["fine", "flaky", "idiot"], ["flaky"], ["flaky"]]
    assert run.scored["s2"].scores["insult"] == 0.8
    assert run.retried_posts == 2


def test_post_never_scored_is_unscored_with_reason_not_zeros() -> None:
    backend = ScriptedBackend({"broken": 99})
    run = asyncio.run(score_with_attempts(backend, posts("fine", "broken"), 3))
    assert "s1" not in run.scored
    unscored = run.unscored["s1"]
    assert unscored.reason == "item_missing" and unscored.attempts == 3


def test_unavailable_endpoint_counts_as_a_failed_attempt() -> None:
    backend = ScriptedBackend({}, unavailable_calls=1)
    run = asyncio.run(score_with_attempts(backend, posts("a", "b"), 2))
    assert set(run.scored) == {"s0", "s1"} and len(backend.calls) == 2
    backend = ScriptedBackend({}, unavailable_calls=5)
    run = asyncio.run(score_with_attempts(backend, posts("a"), 2))
    assert run.unscored["s0"].reason == "llm_unavailable"
    assert "503" in run.unscored["s0"].detail


def test_a_rejected_request_is_a_failed_attempt_with_its_own_reason() -> None:
    backend = ScriptedBackend({}, rejected_calls=5)
    run = asyncio.run(score_with_attempts(backend, posts("a"), 2))
    assert run.unscored["s0"].reason == "request_rejected"


def raw(i: int, text: str, status_id: str | None = None) -> Consumed:
    sid = status_id or str(1000 + i)
    value = json.dumps({"id": sid, "content": f"<p>{text}</p>", "language": "en"}).encode()
    return Consumed("raw", 0, i, sid.encode(), value, time.monotonic(), None)


def make_classifier(backend: ScriptedBackend, cache_size: int = 100) -> Classifier:
    return Classifier(
        backend, threshold=0.5, max_attempts=3, max_text_chars=4000, cache=RepeatCache(cache_size)
    )


def test_one_output_per_input_in_order() -> None:
    backend = ScriptedBackend({"broken": 99})
    batch = [
        raw(0, "hello"),
        Consumed("raw", 0, 1, b"x", b"not json", time.monotonic()),
        raw(2, "broken"),
        raw(3, "you idiot"),
        Consumed("raw", 0, 4, b"1099", None, time.monotonic()),  # tombstone
    ]
    report = asyncio.run(make_classifier(backend).process(batch))
    kinds = [(o.destination, o.outcome) for o in report.outputs]
    assert kinds == [
        ("scored", "scored"),
        ("dlq", "dead_letter"),
        ("dlq", "dead_letter"),
        ("scored", "scored"),
        ("scored", "deleted"),
    ]
    parse_failure = DeadLetterHeaders.from_headers(report.outputs[1].headers)
    assert parse_failure.stage == "parse" and parse_failure.reason == "invalid_json"
    assert parse_failure.original_offset == 1 and report.outputs[1].value == b"not json"
    score_failure = DeadLetterHeaders.from_headers(report.outputs[2].headers)
    assert score_failure.stage == "score" and score_failure.attempts == 3
    insult = ScoredStatus.model_validate_json(report.outputs[3].value or b"")
    assert insult.flagged and [c.value for c in insult.flagged_categories] == ["insult"]
    # Its share: every token the batch's calls used (retries included) over the 3 posts sent.
    assert report.run.usage.input_tokens == 300 + 100 + 100
    assert insult.usage.input_tokens == round(500 / 3)
    assert report.outputs[4].key == b"1099" and report.outputs[4].value is None


def test_repeats_are_scored_once_and_empty_text_is_not_sent() -> None:
    backend = ScriptedBackend({})
    classifier = make_classifier(backend)
    first = asyncio.run(classifier.process([raw(0, "same words"), raw(1, "same words")]))
    assert backend.calls == [["same words"]]
    assert [o.outcome for o in first.outputs] == ["scored", "scored"]
    second = asyncio.run(classifier.process([raw(2, "same words"), raw(3, "")]))
    assert len(backend.calls) == 1, "a cached text or an empty one reached the backend"
    assert [o.outcome for o in second.outputs] == ["cached", "empty"]
    empty = ScoredStatus.model_validate_json(second.outputs[1].value or b"")
    assert empty.backend == "none" and empty.model == "empty-text"
    assert second.cache_hits == 1 and len(classifier.cache) == 1
    assert classifier.cache.get(text_key("same words")) is not None


def test_a_cache_hit_survives_its_eviction_while_the_batch_is_scored() -> None:
    # A cache smaller than what is read ahead: the scores of "old words" are taken before the
    # LLM call; the new texts it scores then evict them. The post must still be published
    # from the cache, not dead-lettered as item_missing.
    backend = ScriptedBackend({})
    classifier = make_classifier(backend, cache_size=1)
    asyncio.run(classifier.process([raw(0, "old words")]))
    report = asyncio.run(
        classifier.process([raw(1, "old words"), raw(2, "new one"), raw(3, "new two")])
    )
    assert [o.outcome for o in report.outputs] == ["cached", "scored", "scored"]
    assert report.cache_hits == 1
    assert classifier.cache.get(text_key("old words")) is None, "evicted meanwhile"


def test_a_record_that_raises_is_dead_lettered_alone_and_the_others_are_scored() -> None:
    backend = ScriptedBackend({}, raises_on="trigger")
    classifier = make_classifier(backend)
    batch = [raw(0, "fine"), raw(1, "the trigger"), raw(2, "you idiot")]
    report = asyncio.run(classifier.process_isolating_errors(batch))
    assert [o.outcome for o in report.outputs] == ["scored", "dead_letter", "scored"]
    headers = DeadLetterHeaders.from_headers(report.outputs[1].headers)
    assert headers.reason == "internal_error" and headers.error_class == "KeyError"
    assert headers.original_offset == 1
