"""Daily JSONL files of training examples: append-only, fsync'd, repaired after a crash.

One sink writes one directory; run a single writer per directory. Lines are whole records, one
per line, each ending in a newline, so a line without one is a write a crash cut short.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from streams.models.base import Record

logger = logging.getLogger(__name__)

_CHUNK = 64 * 1024


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _fsync_directory(directory: Path) -> None:
    # A new file's directory entry is durable only once the directory itself is synced.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _torn_tail_length(path: Path) -> int:
    """Bytes after the last newline of ``path`` (0 when it ends in one or is empty)."""
    with path.open("rb") as f:
        end = f.seek(0, os.SEEK_END)
        position = end
        while position > 0:
            start = max(0, position - _CHUNK)
            f.seek(start)
            chunk = f.read(position - start)
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                return end - (start + newline + 1)
            position = start
        return end


class DailyJsonlSink:
    """Buffers records with :meth:`add`; :meth:`flush` appends them to ``<prefix>YYYYMMDD.jsonl``.

    The date is the UTC date of the flush. Files are only ever appended to. Opening the sink runs
    :meth:`repair`, whose result is kept in :attr:`repaired_bytes`.
    """

    def __init__(
        self,
        directory: Path,
        prefix: str = "harvest_",
        *,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.directory = Path(directory)
        self.prefix = prefix
        self._clock = clock
        self._buffer: list[bytes] = []
        #: The key of each buffered line (None when added without one), for :meth:`discard`.
        self._keys: list[str | None] = []
        self.directory.mkdir(parents=True, exist_ok=True)
        self.repaired_bytes = self.repair()

    @property
    def pending(self) -> int:
        """Records added and not yet flushed."""
        return len(self._buffer)

    def path_for(self, moment: datetime) -> Path:
        """The file that a flush at ``moment`` appends to."""
        day = moment.astimezone(UTC).strftime("%Y%m%d")
        return self.directory / f"{self.prefix}{day}.jsonl"

    def files(self) -> list[Path]:
        """This sink's files, oldest day first."""
        return sorted(self.directory.glob(f"{self.prefix}[0-9]*.jsonl"))

    def add(self, example: Record, key: str | None = None) -> None:
        """Buffer one record; serialised now, so a bad record fails here and not in flush."""
        self._buffer.append(example.to_bytes() + b"\n")
        self._keys.append(key)

    def add_line(self, line: bytes, key: str | None = None) -> None:
        """Buffer one record already serialised (one line of JSON, no newline)."""
        self._buffer.append(line + b"\n")
        self._keys.append(key)

    def discard(self, keys: set[str]) -> int:
        """Drop the buffered lines added with one of ``keys``; return how many were dropped."""
        pairs = zip(self._keys, self._buffer, strict=True)
        kept = [(k, line) for k, line in pairs if k not in keys]
        dropped = len(self._buffer) - len(kept)
        self._keys = [k for k, _ in kept]
        self._buffer = [line for _, line in kept]
        return dropped

    def purge(self, field: str, values: set[str]) -> dict[Path, int]:
        """Rewrite every file without the lines whose ``field`` is one of ``values``.

        Each file is replaced atomically (a synced temporary file renamed over it, then the
        directory synced), so a crash leaves the old file or the new one, never a mix. Returns
        the lines removed per file that had any. Lines that are not JSON objects are kept.
        """
        removed: dict[Path, int] = {}
        for path in self.files():
            count = purge_lines(path, field, values)
            if count:
                removed[path] = count
        if removed:
            _fsync_directory(self.directory)
        return removed

    def flush(self) -> int:
        """Append every buffered line to today's file, fsync it, and return the bytes written.

        On failure the file is cut back to its former length and the lines stay buffered, so a
        retry neither duplicates nor glues a record onto a partial line.
        """
        if not self._buffer:
            return 0
        path = self.path_for(self._clock())
        created = not path.exists()
        # The harvester flushes in a thread while its agent goes on adding lines: write and
        # drop only the lines present now, so a line added meanwhile waits for the next flush.
        count = len(self._buffer)
        data = b"".join(self._buffer[:count])
        # Unbuffered fd: nothing is left in a Python buffer to be written after a rollback.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            start = os.fstat(fd).st_size
            try:
                _write_all(fd, data)
                os.fsync(fd)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, start)
                raise
        finally:
            os.close(fd)
        if created:
            _fsync_directory(self.directory)
        del self._buffer[:count]
        del self._keys[:count]
        return len(data)

    def repair(self) -> int:
        """Cut every file back to its last complete line; return the bytes dropped.

        A torn tail can only come from a flush that did not return, so its records were not
        acknowledged and will be written again: dropping them loses nothing.
        """
        dropped = 0
        # A purge that crashed before its rename left a temporary copy; the original stands.
        for leftover in self.directory.glob(f".{self.prefix}*.jsonl.purge"):
            leftover.unlink()
        for path in self.files():
            tail = _torn_tail_length(path)
            if not tail:
                continue
            size = path.stat().st_size
            with path.open("r+b") as f:
                f.truncate(size - tail)
                f.flush()
                os.fsync(f.fileno())
            logger.warning("%s: dropped a torn last line of %d bytes", path, tail)
            dropped += tail
        return dropped


def _matches(line: bytes, field: str, values: set[str]) -> bool:
    try:
        record = _parse_line(line)
    except ValueError:
        return False
    return record.get(field) in values


def purge_lines(path: Path, field: str, values: set[str]) -> int:
    """Replace ``path`` by a copy without the lines whose ``field`` is in ``values``.

    Returns the lines removed; the file is left untouched when there are none. The caller
    syncs the directory.
    """
    # Cheap pre-check: a value that is not in the file's bytes cannot be on one of its lines.
    data = path.read_bytes()
    if not any(json.dumps(v)[1:-1].encode() in data or v.encode() in data for v in values):
        return 0
    lines = data.splitlines(keepends=True)
    kept = [line for line in lines if not _matches(line, field, values)]
    if len(kept) == len(lines):
        return 0
    temporary = path.with_name(f".{path.name}.purge")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        _write_all(fd, b"".join(kept))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
    return len(lines) - len(kept)


@dataclass(frozen=True)
class MalformedLine:
    """A line :func:`read_jsonl` skipped."""

    line_number: int
    reason: str


@dataclass
class ReadReport:
    """What :func:`read_jsonl` skipped; complete once the iterator is exhausted."""

    records: int = 0
    malformed: list[MalformedLine] = field(default_factory=list)
    #: Bytes of an unterminated last line (torn, or still being written); 0 when none.
    partial_tail_bytes: int = 0

    @property
    def partial_last_line(self) -> bool:
        return self.partial_tail_bytes > 0

    @property
    def clean(self) -> bool:
        return not self.malformed and not self.partial_last_line


def _parse_line(raw: bytes) -> dict[str, Any]:
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object, got {type(value).__name__}")
    return value


def read_jsonl(path: Path, report: ReadReport | None = None) -> Iterator[dict[str, Any]]:
    """Yield each JSON object of ``path``; never raises on bad content.

    An unterminated last line is skipped and counted in ``report.partial_tail_bytes``; any other
    line that is not a JSON object is skipped and listed in ``report.malformed`` with its
    1-based line number. Blank lines are ignored.
    """
    report = report if report is not None else ReadReport()
    with Path(path).open("rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.endswith(b"\n"):
                report.partial_tail_bytes = len(raw)
                logger.warning("%s:%d: skipped an unterminated last line", path, number)
                break
            if not raw.strip():
                continue
            try:
                record = _parse_line(raw)
            except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
                report.malformed.append(MalformedLine(number, str(exc)))
                logger.warning("%s:%d: skipped a malformed line: %s", path, number, exc)
                continue
            report.records += 1
            yield record
