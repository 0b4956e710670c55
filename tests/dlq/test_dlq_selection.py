"""Which dead letters a replay chooses, and what its summary says: pure, no broker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from streams.dlq.markers import marker_spec
from streams.dlq.publish import REPLAY_HEADER, replay_headers
from streams.dlq.selection import (
    Criteria,
    DeadLetter,
    Outcome,
    ReplaySummary,
    read_origin,
    select,
    settle,
)
from streams.kafka.records import Consumed, dead_letter
from streams.models.replay_marker import ReplayMarker
from streams.settings import Settings

#: Headers exactly as a worker of dlq.schema_version 1 wrote them: frozen here, so a later
#: change of DeadLetterHeaders cannot quietly change what this test proves.
V1_HEADERS = [
    (b"dlq.schema_version", b"1"), (b"dlq.stage", b"score"),
    (b"dlq.error_class", b"UnscoredPost"), (b"dlq.reason", b"llm_unavailable"),
    (b"dlq.message", b"llm_unavailable: 503 from the endpoint"), (b"dlq.attempts", b"3"),
    (b"dlq.first_failure_at", b"2026-11-01T12:00:00Z"), (b"dlq.original_topic", b"statuses.raw"),
    (b"dlq.original_partition", b"2"), (b"dlq.original_offset", b"99"),
    (b"dlq.original_key", b"109"),
]  # fmt: skip
V1 = [(name.decode(), value) for name, value in V1_HEADERS]
RAW = "statuses.raw"
TOPICS = frozenset({RAW, "moderation.corrections"})
NOW_MS = 1_790_000_000_000


def letter(
    offset: int = 5, *, headers: list[tuple[str, bytes]] | None = None, key: bytes = b"109",
    partition: int = 0, timestamp_ms: int = NOW_MS, **fields: str,
) -> DeadLetter:  # fmt: skip
    pairs = dict(headers if headers is not None else V1)
    pairs.update({f"dlq.{name}": value.encode() for name, value in fields.items()})
    return DeadLetter(partition, offset, timestamp_ms, key, read_origin(list(pairs.items())))


def test_a_v1_dead_letter_is_read_by_name() -> None:
    origin = read_origin(V1)
    assert origin is not None
    assert origin.place == (RAW, 2, 99)
    assert (origin.stage, origin.reason, origin.schema_version) == ("score", "llm_unavailable", 1)


def test_what_todays_worker_writes_is_read() -> None:
    record = Consumed("statuses.raw", 1, 42, b"7", b"{}", read_at=0.0)
    output = dead_letter(record, "score", "item_missing", "UnscoredPost", "no result", 2)
    origin = read_origin(output.headers)
    assert origin is not None and origin.place == ("statuses.raw", 1, 42)


def test_a_later_schema_version_with_new_headers_is_read_too() -> None:
    newer = [*V1, ("dlq.trace_id", b"abc"), ("traceparent", b"00-1-2-01")]
    newer[0] = ("dlq.schema_version", b"2")
    origin = read_origin(newer)
    assert origin is not None and origin.schema_version == 2 and origin.place == (RAW, 2, 99)


def test_headers_without_an_origin_are_unreadable() -> None:
    assert read_origin([h for h in V1 if h[0] != "dlq.original_offset"]) is None
    assert read_origin([*V1, ("dlq.reason", b"again")]) is None
    assert read_origin([*V1[:-1], ("dlq.original_key", b"\xff")]) is None
    assert read_origin([]) is None
    assert select(letter(headers=[]), Criteria(), None, TOPICS) is Outcome.UNREADABLE


def marker(offset: int = 5, timestamp_ms: int = NOW_MS) -> ReplayMarker:
    return ReplayMarker(
        dlq_topic="statuses.dlq", dlq_partition=0, dlq_offset=offset, dlq_timestamp_ms=timestamp_ms,
        original_topic=RAW, original_partition=2, original_offset=99, stage="score",
        reason="llm_unavailable", outcome="replayed", replayed_at=datetime.now(UTC),
    )  # fmt: skip


def test_filters_markers_and_what_cannot_be_replayed() -> None:
    any_reason = Criteria()
    assert select(letter(), any_reason, None, TOPICS) is Outcome.REPLAY
    assert select(letter(stage="parse"), any_reason, None, TOPICS) is Outcome.OTHER_STAGE
    parse = Criteria(stages=frozenset({"parse"}))
    assert select(letter(stage="parse"), parse, None, TOPICS) is Outcome.REPLAY
    only = Criteria(reasons=frozenset({"item_missing"}))
    assert select(letter(), only, None, TOPICS) is Outcome.OTHER_REASON
    dead_at = datetime.fromtimestamp(NOW_MS / 1000, UTC)
    window = Criteria(since=dead_at, until=dead_at + timedelta(seconds=1))
    assert select(letter(), window, None, TOPICS) is Outcome.REPLAY
    later = letter(timestamp_ms=NOW_MS + 1000)
    assert select(later, window, None, TOPICS) is Outcome.OUTSIDE_WINDOW
    assert select(letter(), any_reason, marker(), TOPICS) is Outcome.ALREADY_REPLAYED
    stale = marker().model_copy(update={"outcome": "superseded"})
    assert select(letter(), any_reason, stale, TOPICS) is Outcome.SUPERSEDED
    # A marker of another dead letter at that offset (the topic was created again) is no marker.
    assert select(letter(), any_reason, marker(timestamp_ms=NOW_MS - 1), TOPICS) is Outcome.REPLAY
    cut = letter(message="value cut from 3000000 bytes; no result")
    assert select(cut, any_reason, None, TOPICS) is Outcome.VALUE_CUT
    gone = letter(original_topic="statuses.old")
    assert select(gone, any_reason, None, TOPICS) is Outcome.TOPIC_MISSING


def test_a_post_edited_or_deleted_since_is_superseded_and_twins_replay_once() -> None:
    first, twin = letter(5), letter(6)  # the same original record, dead-lettered twice
    edited = letter(7, key=b"110", original_offset="100", original_key="110")
    correction = letter(8, original_topic="moderation.corrections", stage="harvest")
    latest = {
        (RAW, 2, b"109"): 99, (RAW, 2, b"110"): 250, ("moderation.corrections", 2, b"109"): 500,
    }  # fmt: skip
    outcomes = settle([twin, edited, first, correction], latest, frozenset({RAW}))
    assert outcomes == {
        (0, 5): Outcome.REPLAY, (0, 6): Outcome.DUPLICATE, (0, 7): Outcome.SUPERSEDED,
        (0, 8): Outcome.REPLAY,  # corrections are events: a later one supersedes nothing
    }  # fmt: skip
    both_stale = settle([first, twin], {(RAW, 2, b"109"): 120}, frozenset({RAW}))
    assert set(both_stale.values()) == {Outcome.SUPERSEDED}


@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 4), st.integers(90, 110)), max_size=30),
    st.dictionaries(st.integers(0, 3), st.integers(80, 120)),
)
def test_each_original_record_is_replayed_at_most_once(
    rows: list[tuple[int, int, int]], later: dict[int, int]
) -> None:
    letters = [
        letter(i, key=str(k).encode(), original_key=str(k), original_partition=str(p),
               original_offset=str(o))
        for i, (k, p, o) in enumerate(rows)
    ]  # fmt: skip
    latest = {(RAW, p, str(k).encode()): offset for k, offset in later.items() for p in range(5)}
    outcomes = settle(letters, latest, frozenset({RAW}))
    assert set(outcomes) == {(0, i) for i in range(len(rows))}
    replayed = [rows[i][1:] for (_, i), o in outcomes.items() if o is Outcome.REPLAY]
    assert len(replayed) == len(set(replayed))
    for (_, i), outcome in outcomes.items():
        key, _, offset = rows[i]
        stale = later.get(key, -1) > offset
        assert (outcome is Outcome.SUPERSEDED) == stale


def test_summary_counts_by_stage_and_reason() -> None:
    summary = ReplaySummary(skipped_before_since=4)
    summary.read = 4
    summary.add(letter(1), Outcome.REPLAY)
    summary.add(letter(2), Outcome.ALREADY_REPLAYED)
    summary.add(letter(3, stage="parse", reason="invalid_json"), Outcome.OTHER_STAGE)
    summary.add(letter(4, headers=[]), Outcome.UNREADABLE)
    summary.replayed_to[RAW] = 1
    data = summary.to_json()
    assert (data["replayed"], data["already_replayed"], data["filtered_out"]) == (1, 1, 5)
    assert data["cannot_replay"] == 1
    assert data["by_kind"]["score/llm_unavailable"] == {"already_replayed": 1, "replay": 1}
    text = "\n".join(summary.lines())
    assert "score/llm_unavailable: 2 (replayed 1, already replayed 1)" in text
    assert "parse/invalid_json: 1 (other stage 1)" in text and "?/unreadable: 1" in text
    assert "replayed 1 (1 to statuses.raw); already replayed 1" in text


def test_a_replay_carries_the_originals_headers_not_the_failures() -> None:
    headers = replay_headers([*V1, ("traceparent", b"00-1"), (REPLAY_HEADER, b"x/0/1")], "d", 3, 7)
    assert headers == [("traceparent", b"00-1"), (REPLAY_HEADER, b"d/3/7")]


def test_markers_live_as_long_as_the_dead_letters() -> None:
    spec = marker_spec(Settings(), {"retention.ms": "2592000000"})
    assert spec.name == "statuses.dlq.replayed"
    assert spec.configs()["cleanup.policy"] == "compact,delete"
    assert spec.configs()["retention.ms"] == "2592000000"
    forever = marker_spec(Settings(topic_dlq_replayed="marks"), {"retention.ms": "-1"})
    assert (forever.name, forever.configs()["cleanup.policy"]) == ("marks", "compact")
