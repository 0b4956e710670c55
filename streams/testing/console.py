"""What the harnesses print while they work: one line on stderr, named after the harness."""

from __future__ import annotations

import sys


def say(harness: str, message: str) -> None:
    """``bench: message``, at once (a run can take minutes)."""
    print(f"{harness}: {message}", file=sys.stderr, flush=True)
