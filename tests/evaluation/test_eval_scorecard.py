"""One configuration's figures on hand-made cases (unscored ones kept out); parsed configs."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from streams.categories import CATEGORIES
from streams.errors import ConfigurationError
from streams.evaluation.cases import CaseFile, FileSummary, LabelledCase
from streams.evaluation.report import render
from streams.evaluation.results import EvaluationReport
from streams.evaluation.run import evaluate
from streams.evaluation.scoring import ScoringConfig, parse_config
from streams.llm.prompt import PostToScore
from streams.llm.reply import FailedItem, FailureReason, ItemResult, ScoredItem
from streams.scoring.backend import BatchScores, TokenUsage
from streams.settings import Settings


class ScriptedBackend:
    """Scores a text "<hate score>" as given; "fail" is never scored (a malformed item)."""

    name = "scripted"
    model = "scripted-1"
    prompt_version = "none"

    def __init__(self) -> None:
        self.batch_sizes: list[int] = []

    async def score_batch(self, posts: Sequence[PostToScore]) -> BatchScores:
        self.batch_sizes.append(len(posts))
        results: dict[str, ItemResult] = {}
        for post in posts:
            if post.text == "fail":
                results[post.status_id] = FailedItem(post.status_id, FailureReason.ITEM_MALFORMED)
            else:
                scores = dict.fromkeys(CATEGORIES, 0.0) | {"hate_speech": float(post.text)}
                results[post.status_id] = ScoredItem(post.status_id, scores)
        usage = TokenUsage(input_tokens=100 * len(posts), output_tokens=5 * len(posts))
        return BatchScores(results, usage=usage, cost_usd=0.001)

    async def close(self) -> None:
        return None


def _case(i: int, text: str, hateful: bool, functionality: str, target: str) -> LabelledCase:
    labels = {"hate_speech": int(hateful), "sexism": int(hateful and target == "women")}
    return LabelledCase(f"s:{i}", text, labels, "en", functionality, target, "s.csv")


CASES = [
    _case(1, "0.9", True, "slur_h", "women"),  # flagged, right
    _case(2, "0.2", True, "slur_h", "women"),  # missed
    _case(3, "0.1", False, "counter_quote_nh", "women"),  # right
    _case(4, "0.7", False, "negate_neg_nh", "immigrants"),  # false alarm
    _case(5, "fail", True, "slur_h", "immigrants"),  # unscored
]


def _report(backend: ScriptedBackend) -> EvaluationReport:
    summary = FileSummary("s.csv", "suite", rows=5, cases=5)
    config = ScoringConfig("scripted", Settings(scoring_backend="lexicon", batch_size=2,
                                                max_attempts=2))  # fmt: skip
    return asyncio.run(
        evaluate([CaseFile(CASES, summary)], [config], 0.5, backend_for=lambda s: backend)
    )


def test_figures_of_one_configuration_by_hand() -> None:
    backend = ScriptedBackend()
    result = _report(backend).files[0].results[0]
    assert (result.cases, result.scored, result.unscored) == (5, 4, 1)
    assert result.unscored_reasons == {"item_malformed": 1}
    accuracy = result.accuracy
    assert accuracy is not None
    assert (accuracy.overall.cases, accuracy.overall.correct) == (4, 2)
    assert (accuracy.hateful.correct, accuracy.hateful.cases) == (1, 2)
    assert (accuracy.non_hateful.correct, accuracy.non_hateful.cases) == (1, 2)
    by_group = {c.name: (c.correct, c.cases) for c in accuracy.by_group}
    assert by_group == {"counter-speech": (1, 1), "negation": (0, 1)}
    by_target = {c.name: (c.correct, c.cases) for c in accuracy.by_target}
    assert by_target == {"women": (2, 3), "immigrants": (0, 1)}  # the unscored case is out
    hate = next(c for c in result.categories if c.category == "hate_speech")
    assert (hate.cases, hate.support, hate.flagged, hate.true_positives) == (4, 2, 2, 1)
    assert hate.precision == pytest.approx(0.5) and hate.recall == pytest.approx(0.5)
    # Only labelled categories are reported: toxic is nobody's label here.
    assert [c.category for c in result.categories] == ["hate_speech", "sexism"]
    # Two batches of 2 and one of 1; the failed item asked again alone, then given up.
    assert backend.batch_sizes[:3] == [2, 2, 1] and len(backend.batch_sizes) == 4
    assert result.usage.calls == 4 and result.usage.input_tokens == 600


def test_report_renders_every_table() -> None:
    text = render(_report(ScriptedBackend()))
    for expected in ("s.csv (suite)", "hate_speech", "counter-speech", "negation", "slur_h",
                     "immigrants", "item_malformed 1"):  # fmt: skip
        assert expected in text, expected


def test_configurations_from_specs() -> None:
    base = Settings(scoring_backend="lexicon", batch_size=25)
    config = parse_config("openai, openai_model=gpt-4o ,batch_size=10", base)
    assert config.settings.scoring_backend == "openai" and config.settings.batch_size == 10
    assert config.settings.openai_model == "gpt-4o" and config.label.startswith("openai")
    assert base.batch_size == 25  # the run's settings are left alone
    with pytest.raises(ConfigurationError, match="unknown backend 'gpt'"):
        parse_config("gpt", base)
    with pytest.raises(ConfigurationError, match="FIELD=VALUE"):
        parse_config("lexicon,colour=blue", base)
    with pytest.raises(ConfigurationError, match="batch_size"):
        parse_config("lexicon,batch_size=0", base)
