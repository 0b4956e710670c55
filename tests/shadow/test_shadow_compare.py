"""The shadow comparison on posts small enough to work out by hand."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TypeVar

import pytest

from streams.calibration.map import CalibrationMap, CategoryCalibration
from streams.categories import CATEGORIES
from streams.errors import ConfigurationError
from streams.evaluation.results import CategoryFigures
from streams.kafka.records import Consumed
from streams.models.corrections import TrainingExample, label_vector
from streams.models.scored import ScoredStatus, Timings, Usage, build_scored_status
from streams.settings import Settings
from streams.shadow.candidate import parse_candidate, redact
from streams.shadow.command import shadow_topic_name
from streams.shadow.compare import (
    PostScores,
    compare,
    example_labels,
    flips,
    live_identity,
    natural_order,
    scored_posts,
)
from streams.shadow.report import render
from streams.shadow.results import (
    CandidateIdentity,
    CategoryAgreement,
    PartitionRange,
    ReplayFigures,
    ShadowReport,
)

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


def post(
    toxic: float = 0.0, insult: float = 0.0, threshold: float = 0.5, *, cost: float = 0.0,
    tokens: tuple[int, int] = (0, 0), backend: str = "lexicon",
) -> PostScores:  # fmt: skip
    scores = dict.fromkeys(CATEGORIES, 0.0) | {"toxic": toxic, "insult": insult}
    record = build_scored_status(
        "1", "nl", scores, threshold, backend=backend, model="m", prompt_version="p",
        usage=Usage(input_tokens=tokens[0], output_tokens=tokens[1], cost_usd=cost),
        timings=Timings(queued_ms=0, llm_ms=0, total_ms=0), scored_at=NOW,
    )  # fmt: skip
    return PostScores.of(record)


Row = TypeVar("Row", CategoryAgreement, CategoryFigures)


def row(rows: Sequence[Row], category: str) -> Row:
    return next(r for r in rows if r.category == category)


def labels(*flagged: str) -> dict[str, int]:
    return {str(c): v for c, v in label_vector(flagged).items()}


def test_agreement_counts_flags_alike_and_the_mean_score_difference() -> None:
    live = {"1": post(toxic=0.9), "2": post(toxic=0.2), "3": post(toxic=0.6), "4": post()}
    cand = {"1": post(toxic=0.7), "2": post(toxic=0.6), "3": post(toxic=0.4), "4": post()}
    figures = compare(live, cand, {})
    toxic = row(figures.agreement, "toxic")
    # flags live 1,3 / candidate 1,2: alike on 1 and 4 -> 2 of 4
    assert (toxic.live_flagged, toxic.candidate_flagged, toxic.both_flagged) == (2, 2, 1)
    assert toxic.flag_agreement == pytest.approx(0.5)
    assert toxic.mean_abs_diff == pytest.approx((0.2 + 0.4 + 0.2 + 0.0) / 4)
    insult = row(figures.agreement, "insult")
    assert insult.flag_agreement == 1.0 and insult.mean_abs_diff == 0.0
    # "any" uses the overall score and whether anything is flagged
    assert row(figures.agreement, "any").flag_agreement == pytest.approx(0.5)


def test_only_posts_both_sides_scored_are_compared() -> None:
    live = {"1": post(toxic=0.9), "9": post(toxic=0.9)}
    cand = {"1": post(toxic=0.9), "2": post(toxic=0.9)}
    figures = compare(live, cand, {"1": labels("toxic"), "2": labels("toxic")})
    assert (figures.posts, figures.candidate_only) == (1, 1)
    assert figures.labelled.examples_on_topic == 2 and figures.labelled.examples == 1
    assert row(figures.agreement, "toxic").posts == 1


def test_flips_each_way_with_ids_in_numeric_order() -> None:
    live = {str(i): post(toxic=0.9 if i % 2 else 0.1) for i in range(8, 13)}
    cand = {str(i): post(toxic=0.1 if i % 2 else 0.9) for i in range(8, 13)}
    figures = flips(live, cand, sorted(live, key=natural_order), samples=2)
    # live flags 9, 11; the candidate flags 8, 10, 12
    assert (figures.to_flagged, figures.to_unflagged) == (3, 2)
    assert figures.to_flagged_ids == ["8", "10"] and figures.to_unflagged_ids == ["9", "11"]


def test_a_flag_on_another_category_is_no_flip() -> None:
    live = {"1": post(toxic=0.9)}
    cand = {"1": post(insult=0.9)}
    figures = compare(live, cand, {})
    assert figures.flips.to_flagged == figures.flips.to_unflagged == 0
    assert row(figures.agreement, "toxic").flag_agreement == 0.0


def test_precision_and_recall_against_the_examples_side_by_side() -> None:
    # Four labelled posts: 1 and 2 toxic, 3 and 4 clean. Live flags 1 and 3; the candidate
    # flags 1, 2 and 4 (its threshold is lower).
    live = {"1": post(0.9), "2": post(0.4), "3": post(0.6), "4": post(0.1), "5": post(0.9)}
    cand = {k: post(v.score("toxic"), threshold=0.35) for k, v in live.items()}
    cand["3"], cand["4"] = post(0.3, threshold=0.35), post(0.35, threshold=0.35)
    truth = {"1": labels("toxic"), "2": labels("toxic"), "3": labels(), "4": labels("insult")}
    lab = compare(live, cand, truth).labelled
    assert lab.examples == 4
    live_toxic, cand_toxic = row(lab.live, "toxic"), row(lab.candidate, "toxic")
    assert (live_toxic.precision, live_toxic.recall) == (0.5, 0.5)
    assert cand_toxic.precision == pytest.approx(2 / 3) and cand_toxic.recall == 1.0
    # "any": post 4 is labelled (insult), so the candidate's flag on it is a true positive
    live_any, cand_any = row(lab.live, "any"), row(lab.candidate, "any")
    assert live_any.support == 3 and live_any.true_positives == 1
    assert cand_any.true_positives == 3 and cand_any.precision == 1.0
    assert row(lab.live, "threat").precision is None  # nothing flagged: undefined, not 0


def test_no_examples_give_no_figures_rather_than_zeros() -> None:
    lab = compare({"1": post(0.9)}, {"1": post(0.9)}, {}).labelled
    assert (lab.examples, lab.live, lab.candidate) == (0, [], [])


def test_cost_per_1000_posts_from_what_the_records_carry() -> None:
    live = {str(i): post(0.1) for i in range(4)}
    cand = {str(i): post(0.1, cost=0.0005, tokens=(300, 50)) for i in range(4)}
    figures = compare(live, cand, {})
    assert figures.live_usage.cost_usd_per_1000 == 0.0
    assert figures.candidate_usage.cost_usd_per_1000 == pytest.approx(0.5)
    assert figures.candidate_usage.input_tokens_per_1000 == pytest.approx(300 * 1000)
    assert compare({}, {}, {}).candidate_usage.cost_usd_per_1000 is None


def test_reading_latest_records_counts_tombstones_and_bad_bytes() -> None:
    good = build_scored_status(
        "1", None, dict.fromkeys(CATEGORIES, 0.7), 0.5, backend="lexicon", model="m",
        prompt_version="p", usage=Usage(input_tokens=0, output_tokens=0),
        timings=Timings(queued_ms=0, llm_ms=0, total_ms=0), scored_at=NOW,
    )  # fmt: skip
    posts, counts = scored_posts({"1": good.to_bytes(), "2": None, "3": b"{not json"})
    assert list(posts) == ["1"] and posts["1"].flagged == frozenset(CATEGORIES)
    assert (counts.deleted, counts.unreadable) == (1, 1)
    example = TrainingExample.model_validate({
        "status_id": "1", "text": "t", "labels": label_vector(["racism"]),
        "feedback_type": "false_negative", "original_prediction": [], "corrected_to": ["racism"],
        "contested": False, "decided_by": "admin_override", "deciding_correction_id": "c1",
        "provenance": [{"correction_id": "c1", "source": "admin_override", "timestamp": NOW,
                        "feedback_type": "false_negative"}],
        "updated_at": NOW, "harvested_at": NOW,
    })  # fmt: skip
    found, counts = example_labels({"1": example.to_bytes(), "2": None})
    assert found["1"]["racism"] == 1 and sum(found["1"].values()) == 1 and counts.deleted == 1


def test_live_identity_names_the_most_common_configuration_and_the_mix() -> None:
    live = {"1": post(), "2": post(), "3": post(threshold=0.7, backend="openai")}
    identity = live_identity(live, ["1", "2", "3"])
    assert (identity.backend, identity.threshold) == ("lexicon", 0.5)
    assert identity.configurations == {"lexicon m p 0.5": 2, "openai m p 0.7": 1}
    assert live_identity(live, []).backend is None


def test_candidate_spec_overrides_settings_and_hides_secrets() -> None:
    base = Settings.model_validate({"flag_threshold": 0.5})
    candidate = parse_candidate("lexicon,flag_threshold=0.3", base)
    assert candidate.settings.flag_threshold == 0.3 and candidate.identity().threshold == 0.3
    secret = "openai,openai_api_key=sk-very-secret,openai_model=gpt-4o"
    assert redact(secret) == "openai,openai_api_key=***,openai_model=gpt-4o"
    assert "sk-very" not in parse_candidate(secret, base).identity().config
    with pytest.raises(ConfigurationError, match="--candidate") as failed:
        parse_candidate("openai,openai_api_key=sk-very-secret,flag_threshold=2", base)
    assert "sk-very-secret" not in str(failed.value)


def test_the_candidate_calibrates_per_language_as_a_worker_does() -> None:
    calibration = CalibrationMap(version="v7", entries=[
        CategoryCalibration(category="toxic", method="isotonic", examples=10, positives=5,
                            x=[0.0, 1.0], y=[0.0, 0.5]),
        CategoryCalibration(category="toxic", language="en", method="isotonic", examples=10,
                            positives=5, x=[0.0, 1.0], y=[0.5, 1.0]),
    ])  # fmt: skip

    candidate = parse_candidate("lexicon", Settings())
    candidate = dataclasses.replace(candidate, calibration=calibration)
    classifier = candidate.classifier(candidate.backend())
    records = [
        Consumed("raw", 0, i, sid.encode(), json.dumps(
            {"id": sid, "content": "<p>what an idiot, you absolute moron</p>", "language": lang}
        ).encode(), 0.0)
        for i, (sid, lang) in enumerate((("1", "nl"), ("2", "en-GB")))
    ]  # fmt: skip
    outputs = asyncio.run(classifier.process(records)).outputs
    nl, en = (ScoredStatus.model_validate_json(o.value or b"") for o in outputs)
    assert nl.raw_scores.as_dict()["toxic"] == en.raw_scores.as_dict()["toxic"]
    raw_toxic = nl.raw_scores.as_dict()["toxic"]
    assert nl.scores.as_dict()["toxic"] == pytest.approx(0.5 * raw_toxic)
    assert en.scores.as_dict()["toxic"] == pytest.approx(0.5 + 0.5 * raw_toxic)
    assert nl.scores.as_dict()["insult"] == nl.raw_scores.as_dict()["insult"]  # no entry
    assert nl.calibration_version == en.calibration_version == "v7"


def test_the_shadow_topic_is_never_a_live_one() -> None:
    settings = Settings.model_validate({"topic_scored": "s"})
    assert shadow_topic_name(settings, None) == "s.shadow"
    for live in ("s", settings.topic_raw, settings.topic_dlq, settings.topic_training):
        with pytest.raises(ConfigurationError, match="live topic"):
            shadow_topic_name(settings, live)


def test_the_tables_show_both_sides() -> None:
    live = {"1": post(0.9), "2": post(0.1)}
    cand = {"1": post(0.1), "2": post(0.1)}
    report = ShadowReport(
        live_topic="s", training_topic="t", live=live_identity(live, ["1", "2"]),
        candidate=CandidateIdentity(config="lexicon,flag_threshold=0.3", backend="lexicon",
                                    model="m", prompt_version="p", threshold=0.3,
                                    calibration="v7"),
        replay=ReplayFigures(raw_topic="r", shadow_topic="s.shadow", start="beginning",
                             partitions=[PartitionRange(partition=0, start=0, end=2)],
                             records=2, scored=2, deleted=0, dead_lettered=0,
                             dead_letter_reasons={}, llm_calls=0, seconds=0.1),
        comparison=compare(live, cand, {"1": labels("toxic")}),
    )  # fmt: skip
    text = render(report)
    assert "calibration v7" in text and "flag agreement" in text
    assert (
        "0 posts flagged by the candidate only" in text
        and "1 flagged by live only (e.g. 1)" in text
    )
    assert "against 1 training examples" in text and "precision live" in text
    labelled = text.split("against 1 training examples")[1].split("\n\n")[0]
    assert "toxic" in labelled and "threat" not in labelled  # nobody labelled or flagged it
