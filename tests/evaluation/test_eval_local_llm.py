"""A few hundred suite cases through the local OpenAI-compatible server and the real ``openai``
client, side by side with the lexicon; and with faults, where unscored cases stay unscored."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest
from eval_suite_files import suite_paths

from streams.evaluation.report import pct, render
from streams.evaluation.results import ConfigResult, EvaluationReport
from streams.evaluation.run import evaluate_paths
from streams.settings import Settings
from streams.testing.llm_server.process import LocalLLMProcess

PER_FILE = 150


def _settings(llm: LocalLLMProcess, **extra: object) -> Settings:
    return Settings.model_validate({
        "scoring_backend": "lexicon", "openai_api_key": "sk-local",
        "openai_base_url": llm.base_url, "openai_backoff_s": 0.05, "openai_backoff_max_s": 0.2,
        "openai_timeout_s": 2.0, **extra,
    })  # fmt: skip


def _line(result: ConfigResult) -> str:
    accuracy = result.accuracy
    assert accuracy is not None
    usage = result.usage
    return (
        f"{result.config}: {result.scored} scored, {result.unscored} unscored, accuracy "
        f"{pct(accuracy.overall.accuracy)} (hateful {pct(accuracy.hateful.accuracy)}, "
        f"non-hateful {pct(accuracy.non_hateful.accuracy)}); {usage.calls} calls, "
        f"{usage.input_tokens_per_1000 or 0:.0f} input and {usage.output_tokens_per_1000 or 0:.0f} "
        f"output tokens and ${usage.cost_usd_per_1000 or 0:.4f} per 1,000 posts"
    )


def test_openai_backend_through_the_local_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with LocalLLMProcess(tmp_path / "llm.log") as llm:
        report = asyncio.run(
            evaluate_paths(suite_paths(), ["lexicon", "openai"], _settings(llm), limit=PER_FILE)
        )
        stats = llm.stats()
    with capsys.disabled():
        for result in report.files:
            print(f"\n{Path(result.file.path).name}, {PER_FILE} cases spread over the file:")
            for figures in result.results:
                print("  " + _line(figures))
    assert [c.backend for c in report.configs] == ["lexicon", "openai"]
    assert stats["items"] == PER_FILE * len(report.files)
    for result in report.files:
        lexicon, openai = result.results
        assert result.file.evaluated == PER_FILE
        assert (openai.scored, openai.unscored) == (PER_FILE, 0)
        assert openai.usage.calls == math.ceil(PER_FILE / 25)
        assert openai.usage.input_tokens > 0 and openai.usage.output_tokens > 0
        assert openai.usage.cost_usd > 0 and lexicon.usage.cost_usd == 0
        # The local server scores with the lexicon: through the API, the same verdicts.
        assert openai.accuracy is not None and lexicon.accuracy is not None
        assert openai.accuracy.by_functionality == lexicon.accuracy.by_functionality
        assert len(openai.accuracy.by_functionality) >= 27  # the sample spans the suite
    assert "openai" in render(report)


def _check_partial(report: EvaluationReport) -> int:
    unscored = 0
    for result in report.files:
        (figures,) = result.results
        assert figures.scored + figures.unscored == figures.cases == PER_FILE
        assert sum(figures.unscored_reasons.values()) == figures.unscored
        assert figures.accuracy is not None and figures.accuracy.overall.cases == figures.scored
        assert all(c.cases == figures.scored for c in figures.categories)
        unscored += figures.unscored
    return unscored


def test_cases_the_llm_could_not_score_are_unscored_not_zeros(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # One try per post and per request, so every fault leaves its posts unscored: a whole
    # request failing (500), a reply that is not JSON, a reply missing some posts.
    with LocalLLMProcess(tmp_path / "llm.log", seed=3) as llm:
        llm.set_faults(scripted=["server_error", "not_json", "missing_ids"])
        settings = _settings(llm, openai_max_retries=0, max_attempts=1)
        report = asyncio.run(evaluate_paths(suite_paths(), ["openai"], settings, limit=PER_FILE))
        stats = llm.stats()
    with capsys.disabled():
        reasons = [r.unscored_reasons for f in report.files for r in f.results]
        print(f"\nwith faults {stats['faults']}: unscored {reasons}")
    assert _check_partial(report) > 50
    reasons_seen = {reason for r in reasons for reason in r}
    assert {"llm_unavailable", "reply_not_json", "item_missing"} <= reasons_seen
