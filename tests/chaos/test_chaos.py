"""``streams chaos``: its pure helpers, and a short run end to end with its own broker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from lexicon_outputs import lexicon_outputs

from streams.chaos.plan import ChaosConfig, is_ok, plan_faults
from streams.chaos.workload import (
    ObservedRecord,
    OutputVerdict,
    attribute_duplicates,
    comparable,
    corrected_posts,
    expected_examples,
    export_mismatches,
    jsonl_missing,
    judge_outputs,
    make_corrections,
    split_waves,
)
from streams.kafka.launcher import existing_cluster_id
from streams.models.corrections import TrainingExample
from streams.models.dead_letter import DeadLetterHeaders
from streams.testing.corpus import make_posts
from streams.testing.measure import Collected, Expected

# --- waves and the fault plan ----------------------------------------------------------------


def test_waves_cover_every_post_once_in_order() -> None:
    waves = split_waves(10, 3)
    assert [len(w) for w in waves] == [3, 3, 4]
    assert [i for w in waves for i in w] == list(range(10))
    assert split_waves(2, 4)[0] == range(0)  # more waves than posts: some are empty
    with pytest.raises(ValueError):
        split_waves(10, 0)


def test_config_defaults_follow_the_issue() -> None:
    config = ChaosConfig(posts=20_000, kills=10, broker_bounces=2)
    assert config.correction_count == 2000 and config.correction_statuses == 500
    assert config.fault_count == 12 and config.waves == 14
    assert ChaosConfig(posts=100).waves == 4
    assert ChaosConfig(posts=100, corrections=0).correction_count == 0
    with pytest.raises(ValueError):
        ChaosConfig(workers=3)


def test_plan_has_one_fault_per_wave_and_alternates_bounce_variants() -> None:
    config = ChaosConfig(posts=5000, kills=5, broker_bounces=3, workers=2, pause=True)
    plan = plan_faults(config)
    assert Counter(f.kind for f in plan) == {"kill": 5, "bounce": 3, "pause": 1, "takeover": 1}
    assert sorted(f.wave for f in plan) == list(range(10))
    assert max(f.wave for f in plan) < config.waves - 1  # quiet waves at the end
    bounces = sorted((f for f in plan if f.kind == "bounce"), key=lambda f: f.wave)
    assert [f.variant for f in bounces] == ["sigterm", "sigkill", "sigterm"]
    assert all(0.2 <= f.fraction <= 0.8 for f in plan)
    assert {f.worker for f in plan} <= {0, 1}
    assert plan == plan_faults(config)  # the seed decides
    assert plan != plan_faults(ChaosConfig(**{**config.__dict__, "seed": 1}))


def test_one_worker_has_no_takeover() -> None:
    plan = plan_faults(ChaosConfig(posts=100, kills=2, pause=True))
    assert Counter(f.kind for f in plan) == {"kill": 2, "pause": 1}
    assert all(f.worker == 0 for f in plan)
    assert plan_faults(ChaosConfig(posts=100)) == []


# --- corrections and the training export ------------------------------------------------------


def test_corrections_spread_over_posts_and_follow_their_post() -> None:
    posts = make_posts(400)
    waves = split_waves(400, 5)
    targets = corrected_posts(400, 10, waves)
    assert len(targets) == 10 and max(targets) < waves[-2].stop
    sent = make_corrections(posts, 40, 10, waves, seed=3)
    assert len(sent) == 40
    per_post = Counter(c.status_id for c in sent)
    assert len(per_post) == 10 and set(per_post.values()) == {4}
    wave_of = {posts[i].status_id: w for w, part in enumerate(waves) for i in part}
    assert all(c.wave > wave_of[c.status_id] for c in sent)
    parsed = [c.parsed() for c in sent]
    assert len({c.correction_id for c in parsed}) == 40
    assert sum(c.text is not None for c in parsed) == 8
    assert {c.source for c in parsed} == {"user_report", "appeal", "admin_override"}
    assert make_corrections(posts, 40, 10, waves, seed=3) == sent


def test_fewer_corrections_than_posts_to_correct() -> None:
    posts = make_posts(100)
    sent = make_corrections(posts, 3, 10, split_waves(100, 4), seed=0)
    assert len({c.status_id for c in sent}) == 3
    assert make_corrections(posts, 0, 10, split_waves(100, 4), seed=0) == []


def _published(expected: dict[str, dict[str, Any]]) -> dict[str, bytes | None]:
    now = datetime.now(UTC).isoformat()
    return {
        sid: TrainingExample.model_validate({**e, "harvested_at": now}).to_bytes()
        for sid, e in expected.items()
    }


def test_export_matches_the_policy_and_every_difference_is_named() -> None:
    posts = make_posts(200)
    sent = make_corrections(posts, 20, 5, split_waves(200, 4), seed=1)
    expected = expected_examples(posts, sent)
    assert len(expected) == 5
    latest = _published(expected)
    assert export_mismatches(expected, latest) == []

    first, second, third = sorted(expected)[:3]
    changed = json.loads(latest[first] or b"")
    changed["labels"]["toxic"] = 1 - changed["labels"]["toxic"]
    wrong = {**latest, first: json.dumps(changed).encode(), second: None, "999": latest[third]}
    del wrong[third]
    assert export_mismatches(expected, wrong) == sorted([first, second, third, "999"])
    assert export_mismatches(expected, {**latest, first: b"{not json"}) == [first]


def test_jsonl_check_needs_the_final_example_of_every_post() -> None:
    posts = make_posts(200)
    expected = expected_examples(posts, make_corrections(posts, 12, 4, split_waves(200, 4), 2))
    lines = [json.loads(v or b"") for v in _published(expected).values()]
    assert jsonl_missing(expected, lines) == []
    older = {**lines[0], "provenance": lines[0]["provenance"][:1]}
    assert jsonl_missing(expected, [older, *lines[1:]]) == [lines[0]["status_id"]]
    assert jsonl_missing(expected, [*lines, {"status_id": "unrelated"}, {}]) == []


def test_comparable_leaves_out_only_harvested_at() -> None:
    posts = make_posts(50)
    expected = expected_examples(posts, make_corrections(posts, 2, 1, split_waves(50, 4), 0))
    (value,) = _published(expected).values()
    example = TrainingExample.model_validate_json(value or b"")
    assert set(example.model_dump()) - set(comparable(example)) == {"harvested_at"}


# --- judging the outputs ----------------------------------------------------------------------


def _dead(key: bytes, stage: str, reason: str) -> ObservedRecord:
    headers = DeadLetterHeaders(
        stage=stage, error_class="E", reason=reason, first_failure_at=datetime.now(UTC),
        original_topic="raw", original_partition=0, original_offset=1,
    )  # fmt: skip
    return ObservedRecord(Collected("dlq", key, b"", 0), headers.stage, headers.reason)


def test_judge_counts_lost_zeroed_duplicates_and_keeps_harvest_dead_letters_apart() -> None:
    posts = make_posts(6)
    scored = lexicon_outputs({p.status_id: p.value for p in posts})
    expected = {p.status_id: Expected(0, p.expected_scores()) for p in posts}

    def out(index: int, value_of: int | None = None) -> ObservedRecord:
        value = scored[posts[index if value_of is None else value_of].status_id]
        return ObservedRecord(Collected("scored", posts[index].key, value, 0))

    outputs = [
        out(0),
        out(0),  # a duplicate
        out(1),
        _dead(posts[2].key, "score", "llm_retries_exhausted"),
        out(3, value_of=1),  # toxic post 3 published with benign post 1's scores
        _dead(posts[4].key, "harvest", "text_wait_expired"),  # a correction's, not post 4's
        _dead(posts[1].key, "score", "llm_reply_missing_item"),  # then scored after all
    ]
    verdict = judge_outputs(outputs, expected, "scored")
    assert (verdict.scored, verdict.dead_lettered) == (3, 1)
    assert verdict.dead_lettered_by_reason == {"llm_retries_exhausted": 1}
    assert verdict.lost == sorted([posts[4].status_id, posts[5].status_id])
    assert verdict.failure_zeroed == 1
    assert verdict.duplicates == 2 and verdict.duplicates_pct == round(200 / 6, 3)
    assert verdict.corrections_dead_lettered == {"text_wait_expired": 1}


def test_ok_needs_every_guarantee() -> None:
    good = OutputVerdict(1000, 990, 10, {"x": 10}, [], 0, 20, {})
    assert is_ok(good, 0, 0, True)
    assert not is_ok(OutputVerdict(1000, 990, 9, {}, ["1"], 0, 0, {}), 0, 0, True)
    assert not is_ok(OutputVerdict(1000, 1000, 0, {}, [], 1, 0, {}), 0, 0, True)
    assert not is_ok(OutputVerdict(1000, 1000, 0, {}, [], 0, 21, {}), 0, 0, True)  # 2.1%
    assert not is_ok(good, 1, 0, True)
    assert not is_ok(good, 0, 1, True)
    assert not is_ok(good, 0, 0, False)


def test_duplicates_are_blamed_on_the_last_fault_before_them() -> None:
    arrivals = [("a", 1.0), ("a", 2.0), ("b", 5.0), ("a", 6.0), ("b", 7.5), ("c", 9.0)]
    assert attribute_duplicates(arrivals, [3.0, 7.0]) == ([1, 1], 1)
    assert attribute_duplicates(list(reversed(arrivals)), []) == ([], 3)
    assert attribute_duplicates([], [1.0]) == ([0], 0)


def test_cluster_id_is_read_from_formatted_storage(tmp_path: Path) -> None:
    assert existing_cluster_id(tmp_path) is None
    (tmp_path / "log").mkdir()
    (tmp_path / "log" / "meta.properties").write_text(
        "#\nnode.id=1\nversion=1\ncluster.id=Abc-123_x\ndirectory.id=q\n"
    )
    assert existing_cluster_id(tmp_path) == "Abc-123_x"


# --- the command ------------------------------------------------------------------------------
#
# One short run (about a minute on two cores) with every kind of single-worker fault: two
# worker SIGKILLs, a broker bounce, a 20% LLM fault mix. It starts a broker of its own, since the
# session's cannot be bounced. Each guarantee is its own test, so a report names which broke.
# The 2% duplicate target is for the issue's 20,000-post run (see the README); here each
# fault's duplicates are held to the design's bound.

def chaos_env(data_dir: Path) -> dict[str, str]:
    """This environment without the session's broker: the run starts its own."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("STREAMS_KAFKA") and k != "KAFKA_BOOTSTRAP_SERVERS"}  # fmt: skip
    env["STREAMS_DATA_DIR"] = str(data_dir)
    return env


@pytest.fixture(scope="module")
def short_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any]]:
    env = chaos_env(tmp_path_factory.mktemp("chaos") / "data")
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "chaos", "--posts", "2000", "--kills", "2",
         "--broker-bounces", "1", "--llm-fault-rate", "0.2", "--timeout", "300"],
        env=env, capture_output=True, text=True, timeout=540, check=False,
    )  # fmt: skip
    assert done.stdout, done.stderr[-3000:]
    report: dict[str, Any] = json.loads(done.stdout)
    print(f"\nchaos: {json.dumps(report['counts'])}\n{json.dumps(report['faults'])}\n"
          f"{json.dumps(report['timings'])}")  # fmt: skip
    return done.returncode, report


@pytest.mark.broker
@pytest.mark.timeout(600)
def test_the_faults_were_injected(short_run: tuple[int, dict[str, Any]]) -> None:
    code, report = short_run
    assert code == (0 if report["ok"] else 1)
    faults = report["faults"]
    assert faults["kills_done"] == 2 and faults["faults_injected_late"] == 0
    assert [b["variant"] for b in faults["bounces"]] == ["sigterm"]
    assert sum(faults["llm_faults"].values()) > 0
    assert report["drained"] is True


@pytest.mark.broker
@pytest.mark.timeout(600)
def test_no_post_lost_or_scored_with_scores_the_llm_did_not_give(
    short_run: tuple[int, dict[str, Any]],
) -> None:
    counts = short_run[1]["counts"]
    assert counts["posts"] == 2000 and counts["lost"] == 0
    assert counts["scored"] + counts["dead_lettered"] == 2000
    assert counts["failure_zeroed"] == 0


@pytest.mark.broker
@pytest.mark.timeout(600)
def test_training_export_equals_the_policy(short_run: tuple[int, dict[str, Any]]) -> None:
    counts = short_run[1]["counts"]
    assert counts["corrections"] == 200 and counts["corrected_posts"] == 50
    assert counts["examples"] == 50 and counts["export_mismatches"] == 0


@pytest.mark.broker
@pytest.mark.timeout(600)
def test_every_final_example_is_in_a_jsonl_file(short_run: tuple[int, dict[str, Any]]) -> None:
    assert short_run[1]["counts"]["jsonl_missing"] == 0


@pytest.mark.broker
@pytest.mark.timeout(600)
def test_a_fault_repeats_at_most_one_run_of_published_posts(
    short_run: tuple[int, dict[str, Any]],
) -> None:
    # Scored posts are published in runs of at most batch_size, each committed before the
    # next goes out, so a kill can publish again only the run whose commit it interrupted,
    # and a bounce only the run the producer sends again when the broker is back (it is not
    # idempotent). (Runs used to go out back to back while commits lagged: one kill of a
    # 5,000-post run repeated 300 posts; before that, one of a 20,000-post run 3,275.)
    faults = short_run[1]["faults"]
    per_fault = [f["duplicates"] for f in faults["kills"] + faults["bounces"]]
    assert len(per_fault) == 3
    assert max(per_fault) <= ChaosConfig().batch_size, per_fault


@pytest.mark.broker
@pytest.mark.timeout(180)
def test_an_interrupted_run_stops_what_it_started_and_says_it_proved_nothing(
    tmp_path: Path,
) -> None:
    env = chaos_env(tmp_path / "data")
    run = subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "chaos", "--posts", "2000", "--kills", "2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert run.stderr is not None
    log_dir = ""
    for line in run.stderr:  # wait until the broker and a worker are up
        if "logs in " in line:
            log_dir = line.rsplit("logs in ", 1)[1].strip()
        if "worker(s) ready" in line:
            break
    assert log_dir, "the run never said where its logs are"
    run.send_signal(signal.SIGTERM)
    out, err = run.communicate(timeout=120)
    assert run.returncode == 130, err[-2000:]
    assert "interrupted" in err and out == ""
    left = subprocess.run(["pgrep", "-f", log_dir], capture_output=True, text=True, check=False)
    assert left.stdout == "", f"still running: {left.stdout}"
