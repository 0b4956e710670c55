"""``streams bench harvester``: when the export was complete, the rates, the CPU section."""

from __future__ import annotations

from datetime import UTC, datetime

from streams.bench.harvester import OutputRecord, completion_ms, cpu_section, rate_section
from streams.chaos.workload import comparable, expected_examples, make_corrections
from streams.harvest.policy import build_training_example
from streams.testing.corpus import make_posts

NOW = datetime(2026, 11, 2, tzinfo=UTC)


def test_a_post_is_done_at_its_first_example_equal_to_the_expected_one() -> None:
    posts = make_posts(2)
    sent = make_corrections(posts, 4, 2, [range(2)], seed=0)  # two corrections per post
    expected = expected_examples(posts, sent)
    first, second = posts[0], posts[1]
    text, language = first.parsed().text, first.parsed().language
    by_post = [s.parsed() for s in sent if s.status_id == first.status_id]
    partial = build_training_example(first.status_id, by_post[:1], text, language, harvested_at=NOW)
    full = build_training_example(first.status_id, by_post, text, language, harvested_at=NOW)
    assert partial is not None and full is not None
    assert comparable(full) == expected[first.status_id] != comparable(partial)
    records = [
        OutputRecord(first.status_id, partial.to_bytes(), 1_000),
        OutputRecord(first.status_id, full.to_bytes(), 2_000),
        OutputRecord(first.status_id, full.to_bytes(), 3_000),  # a repeat: not later
        OutputRecord(first.status_id, b"not json", 4_000),
    ]
    done, missing = completion_ms(records, expected)
    assert (done, missing) == (2_000, [second.status_id])
    assert completion_ms([], expected) == (None, sorted(expected))


def test_rates_run_from_the_first_output() -> None:
    section = rate_section(10_000, started_ms=0, first_ms=5_000, done_ms=7_000,
                           committed_ms=10_000)  # fmt: skip
    assert section["startup_s"] == 5.0 and section["seconds"] == 2.0
    assert section["corrections_per_s"] == 5000.0
    assert section["corrections_per_s_to_commit"] == 2000.0
    nothing = rate_section(10, started_ms=0, first_ms=None, done_ms=None, committed_ms=None)
    assert nothing["corrections_per_s"] is None and nothing["startup_s"] is None


def test_cpu_section_per_correction_and_share_of_a_core() -> None:
    section = cpu_section(1.0, 9.0, 10.0, 20_000)
    assert section == {"worker_cpu_s": 8.0, "worker_cpu_share_of_a_core": 0.8,
                       "worker_cpu_us_per_correction": 400.0}  # fmt: skip
    assert cpu_section(None, 2.0, 1.0, 1)["worker_cpu_s"] is None
