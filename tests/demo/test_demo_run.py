"""The demo end to end through the real broker and a real worker (the offline lexicon scores),
and its closing evaluation checked against figures counted here from the scored records."""

from __future__ import annotations

import json
from importlib.resources import files

import pytest

from streams.demo.assessment import by_post
from streams.demo.run import Summary, run_demo
from streams.demo.sample import load_sample
from streams.settings import Settings

pytestmark = pytest.mark.broker


def hand_labels() -> dict[str, set[str]]:
    text = (files("streams") / "data" / "sample_labels.json").read_text("utf-8")
    return {sid: set(cats) for sid, cats in json.loads(text)["labels"].items()}


def ratio(part: int, whole: int) -> str:
    return "-" if whole == 0 else f"{part / whole:.2f}"


def expected_rows(summary: Summary, labels: dict[str, set[str]]) -> dict[str, list[str]]:
    """Per labelled category: support, flagged, correct, precision, recall (counted plainly)."""
    rows = {}
    for category in sorted({c for cats in labels.values() for c in cats}):
        support = flagged = correct = 0
        for sid, record in by_post(summary.scored).items():
            hit = record.scores.as_dict()[category] >= record.threshold
            support += category in labels[sid]
            flagged += hit
            correct += hit and category in labels[sid]
        rows[category] = [
            str(support), str(flagged), str(correct), ratio(correct, flagged),
            ratio(correct, support),
        ]  # fmt: skip
    return rows


@pytest.fixture
def demo_run(
    worker_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[Summary, list[str]]:
    # The demo reads its settings, and passes the rest of its environment to its worker.
    for name, value in worker_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("STREAMS_SCORING_BACKEND", "lexicon")
    summary = run_demo(Settings(), timeout_s=240)
    return summary, capsys.readouterr().out.splitlines()


def test_the_demo_scores_the_sample_and_evaluates_it(demo_run: tuple[Summary, list[str]]) -> None:
    summary, lines = demo_run
    labels = hand_labels()
    boosts = {sid: r.reblog_of for sid, r in summary.scored.items() if r.reblog_of is not None}
    assert set(by_post(summary.scored)) == set(labels)
    sent_boosts = {p.scored_id for p in load_sample() if p.labelled_id != p.scored_id}
    assert set(boosts) == sent_boosts and set(boosts.values()) <= set(labels)
    assert not set(boosts) & set(labels)  # every boost is scored under its own key
    assert not summary.dead_letters
    assert {r.backend for r in summary.scored.values()} == {"lexicon"}

    start = next(i for i, line in enumerate(lines) if line.startswith("evaluation against "))
    assert lines[start].endswith(f": {len(labels)} posts, threshold 0.50")
    toxic = {sid for sid, cats in labels.items() if cats}
    flagged = {sid for sid, record in by_post(summary.scored).items() if record.flagged}
    agree = len(labels) - len(toxic ^ flagged)
    assert lines[start + 1].startswith(
        f"posts labelled toxic: {len(toxic)}, flagged: {len(flagged)}, both: "
        f"{len(toxic & flagged)}; flagged vs labelled: accuracy "
        f"{100 * agree / len(labels):.1f}% ({agree}/{len(labels)}), "
        f"precision {ratio(len(toxic & flagged), len(flagged))}, "
        f"recall {ratio(len(toxic & flagged), len(toxic))}"
    )
    # The table: a header, a rule, then one row per labelled category.
    assert lines[start + 2].split()[:3] == ["category", "support", "flagged"]
    expected = expected_rows(summary, labels)
    printed = {
        row.split()[0]: row.split()[1:6] for row in lines[start + 4 : start + 4 + len(expected)]
    }
    assert printed == expected

    misses = next(line for line in lines if "labelled but not flagged:" in line)
    assert misses.split(":")[1].strip() == str(len(toxic - flagged))
    false_alarms = next(line for line in lines if "flagged but labelled benign:" in line)
    assert false_alarms.split(":")[1].strip() == str(len(flagged - toxic))
    for sid in sorted(flagged - toxic)[:3]:
        # A named false alarm is a flagged post labelled benign, shown with its flags.
        if f" {sid} (" in false_alarms:
            flags = " ".join(c.value for c in summary.scored[sid].flagged_categories)
            assert f" {sid} ({flags}; " in false_alarms
