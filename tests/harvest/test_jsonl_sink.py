from __future__ import annotations

import json
import logging
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from streams.harvest.jsonl_sink import DailyJsonlSink, ReadReport, read_jsonl
from streams.harvest.policy import build_training_example
from streams.models.corrections import Correction, TrainingExample

DAY = datetime(2026, 3, 13, 23, 59, 30, tzinfo=UTC)


def example(status_id: str, text: str = "a post") -> TrainingExample:
    correction = Correction(
        correction_id=f"c-{status_id}",
        status_id=status_id,
        feedback_type="false_negative",
        expected_categories=["insult"],
        source="admin_override",
        timestamp=DAY - timedelta(hours=1),
    )
    built = build_training_example(status_id, [correction], text, "en", harvested_at=DAY)
    assert built is not None
    return built


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def status_ids(path: Path) -> list[str]:
    return [record["status_id"] for record in read_jsonl(path)]


def test_flush_writes_buffered_lines_and_returns_bytes(tmp_path: Path) -> None:
    sink = DailyJsonlSink(tmp_path, clock=Clock(DAY))
    assert sink.flush() == 0
    sink.add(example("1"))
    sink.add(example("2"))
    assert sink.pending == 2
    written = sink.flush()
    path = tmp_path / "harvest_20260313.jsonl"
    assert written == path.stat().st_size
    assert sink.pending == 0
    assert status_ids(path) == ["1", "2"]
    assert TrainingExample.model_validate(next(read_jsonl(path))) == example("1")


def test_two_sink_instances_append_and_never_truncate(tmp_path: Path) -> None:
    first = DailyJsonlSink(tmp_path, clock=Clock(DAY))
    first.add(example("1"))
    first.flush()
    second = DailyJsonlSink(tmp_path, clock=Clock(DAY))
    assert second.repaired_bytes == 0
    second.add(example("2"))
    second.flush()
    first.add(example("3"))
    first.flush()
    assert status_ids(tmp_path / "harvest_20260313.jsonl") == ["1", "2", "3"]


def test_file_is_chosen_by_utc_date_of_the_flush(tmp_path: Path) -> None:
    clock = Clock(DAY)
    sink = DailyJsonlSink(tmp_path, prefix="train_", clock=clock)
    sink.add(example("1"))
    # Added before midnight, flushed after: the flush's date counts.
    clock.now = DAY + timedelta(minutes=1)
    sink.flush()
    assert [p.name for p in sink.files()] == ["train_20260314.jsonl"]
    # 01:30 at +02:00 is still the 14th in UTC.
    clock.now = datetime.fromisoformat("2026-03-15T01:30:00+02:00")
    sink.add(example("2"))
    sink.flush()
    assert status_ids(tmp_path / "train_20260314.jsonl") == ["1", "2"]


def test_flush_fsyncs_the_file_and_the_directory_of_a_new_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    sink = DailyJsonlSink(tmp_path, clock=Clock(DAY))
    sink.add(example("1"))
    sink.flush()
    assert synced == ["file", "dir"]
    sink.add(example("2"))
    sink.flush()
    assert synced == ["file", "dir", "file"]


def test_failed_flush_rolls_back_and_keeps_the_buffer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = DailyJsonlSink(tmp_path, clock=Clock(DAY))
    sink.add(example("1"))
    sink.flush()
    size = (tmp_path / "harvest_20260313.jsonl").stat().st_size
    real_fsync = os.fsync

    def failing(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing)
    sink.add(example("2"))
    with pytest.raises(OSError, match="Input/output"):
        sink.flush()
    assert (tmp_path / "harvest_20260313.jsonl").stat().st_size == size
    assert sink.pending == 1
    monkeypatch.setattr(os, "fsync", real_fsync)
    sink.flush()
    assert status_ids(tmp_path / "harvest_20260313.jsonl") == ["1", "2"]


def write_torn_file(path: Path, complete: int) -> bytes:
    lines = [example(str(i)).to_bytes() + b"\n" for i in range(complete + 1)]
    torn = lines[-1][:25]
    path.write_bytes(b"".join(lines[:-1]) + torn)
    return torn


def test_torn_last_line_is_repaired_on_open(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    older = tmp_path / "harvest_20260312.jsonl"
    newest = tmp_path / "harvest_20260313.jsonl"
    older.write_bytes(example("old").to_bytes() + b"\n")
    torn = write_torn_file(newest, complete=2)
    with caplog.at_level(logging.WARNING):
        sink = DailyJsonlSink(tmp_path, clock=Clock(DAY))
    assert sink.repaired_bytes == len(torn)
    assert "torn last line of 25 bytes" in caplog.text
    assert newest.read_bytes().endswith(b"\n")
    assert status_ids(older) == ["old"]
    sink.add(example("3"))
    sink.flush()
    report = ReadReport()
    assert [r["status_id"] for r in read_jsonl(newest, report)] == ["0", "1", "3"]
    assert report.clean


def test_repair_of_a_file_holding_only_a_partial_line_empties_it(tmp_path: Path) -> None:
    path = tmp_path / "harvest_20260313.jsonl"
    path.write_bytes(b'{"status_id": "1", "te')
    sink = DailyJsonlSink(tmp_path)
    assert sink.repaired_bytes == 22
    assert path.read_bytes() == b""


def test_repair_ignores_other_files(tmp_path: Path) -> None:
    other = tmp_path / "notes.jsonl"
    other.write_bytes(b"{")
    assert DailyJsonlSink(tmp_path).repaired_bytes == 0
    assert other.read_bytes() == b"{"


def test_reader_skips_and_reports_a_partial_last_line(tmp_path: Path) -> None:
    path = tmp_path / "harvest_20260313.jsonl"
    torn = write_torn_file(path, complete=2)
    report = ReadReport()
    assert [r["status_id"] for r in read_jsonl(path, report)] == ["0", "1"]
    assert report.partial_last_line and report.partial_tail_bytes == len(torn)
    assert report.records == 2 and not report.malformed


def test_reader_treats_an_unterminated_but_complete_line_as_partial(tmp_path: Path) -> None:
    # Our writer ends every line; a line without its newline was not acknowledged.
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"a": 1}\n{"a": 2}')
    report = ReadReport()
    assert list(read_jsonl(path, report)) == [{"a": 1}]
    assert report.partial_tail_bytes == 8


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (b"{not json", "Expecting property name"),
        (b"[1, 2]", "expected a JSON object, got list"),
        (b'{"a": "\xff"}', "utf-8"),
    ],
)
def test_reader_reports_malformed_lines_with_their_number(
    tmp_path: Path, bad: bytes, reason: str
) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"a": 1}\n\n' + bad + b'\n{"a": 2}\n')
    report = ReadReport()
    records: list[dict[str, Any]] = list(read_jsonl(path, report))
    assert records == [{"a": 1}, {"a": 2}]
    assert [m.line_number for m in report.malformed] == [3]
    assert reason in report.malformed[0].reason
    assert not report.partial_last_line


def test_reader_without_a_report_never_raises_on_bad_content(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"a": 1}\nnull\n{"a"')
    assert [json.dumps(r) for r in read_jsonl(path)] == ['{"a": 1}']


def test_empty_file_reads_clean(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(b"")
    report = ReadReport()
    assert list(read_jsonl(path, report)) == []
    assert report.clean and report.records == 0


def test_lines_added_during_a_threaded_flush_are_kept(tmp_path: Path) -> None:
    """The harvester flushes in a thread while its agent adds lines: none may be dropped."""
    import threading

    from streams.models.base import Record

    class Line(Record):
        n: int

    sink = DailyJsonlSink(tmp_path)
    stop = threading.Event()

    def flusher() -> None:
        while not stop.is_set():
            sink.flush()

    thread = threading.Thread(target=flusher)
    thread.start()
    for n in range(20_000):
        sink.add(Line(n=n))
    stop.set()
    thread.join()
    sink.flush()
    lines = [json.loads(x) for f in sink.files() for x in f.read_text().splitlines()]
    assert sorted(x["n"] for x in lines) == list(range(20_000))


def test_purge_rewrites_only_the_files_holding_the_erased_posts(tmp_path: Path) -> None:
    days = iter([datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)])
    sink = DailyJsonlSink(tmp_path, clock=lambda: next(days))
    for status_id in ("1", "2", "1"):
        sink.add(example(status_id, f"text of {status_id}"), key=status_id)
    sink.flush()
    sink.add(example("3"), key="3")
    sink.flush()
    first, second = sink.files()
    untouched = second.stat().st_mtime_ns
    (tmp_path / f".{first.name}.purge").write_bytes(b"left by a crash")

    assert sink.purge("status_id", {"1"}) == {first: 2}
    assert [r["status_id"] for r in read_jsonl(first)] == ["2"]
    assert second.stat().st_mtime_ns == untouched
    assert sink.purge("status_id", {"1"}) == {}
    assert DailyJsonlSink(tmp_path).repaired_bytes == 0
    assert not list(tmp_path.glob(".*.purge"))


def test_discard_drops_buffered_lines_of_the_erased_posts(tmp_path: Path) -> None:
    sink = DailyJsonlSink(tmp_path)
    for status_id in ("1", "2", "1"):
        sink.add(example(status_id), key=status_id)
    assert sink.discard({"1"}) == 2
    sink.flush()
    assert [r["status_id"] for r in read_jsonl(sink.files()[0])] == ["2"]
