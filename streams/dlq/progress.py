"""The progress of a long replay, on stderr, one pass after another: on a terminal a bar
redrawn at most 5 times a second; in a log a line every 10 s. Each pass ends with its line."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from streams.dlq.replay import Progress

WIDTH = 30
TERMINAL_EVERY_S = 0.2
LOG_EVERY_S = 10.0


def progress_lines(stream: TextIO = sys.stderr) -> Progress:
    terminal = stream.isatty()
    every = TERMINAL_EVERY_S if terminal else LOG_EVERY_S
    last: dict[str, float] = {}
    finished: set[str] = set()

    def show(phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        complete = done >= total
        if phase in finished or (not complete and now - last.setdefault(phase, now) < every):
            return
        last[phase] = now
        filled = WIDTH * done // total if total else WIDTH
        line = f"{phase}: [{'#' * filled}{'.' * (WIDTH - filled)}] {done}/{total}"
        if terminal:
            print("\r" + line, end="\n" if complete else "", file=stream, flush=True)
        else:
            print(line, file=stream, flush=True)
        if complete:
            finished.add(phase)

    return show
