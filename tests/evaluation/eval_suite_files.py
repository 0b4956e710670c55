"""Where the shared evaluation suites are: ``$STREAMS_EVAL_DIR``, else ``shared/eval`` beside the
repository (CI clones the repository next to a copy of ``shared/``). Read by path, never copied."""

from __future__ import annotations

import csv
import os
from collections import Counter
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SUITE_NAMES = ("hatecheck_english.csv", "mhc_dutch.csv")


def suite_dir() -> Path:
    given = os.environ.get("STREAMS_EVAL_DIR")
    directory = Path(given) if given else REPO_ROOT.parent / "shared" / "eval"
    if not all((directory / name).is_file() for name in SUITE_NAMES):
        pytest.fail(
            f"evaluation suites not found in {directory}: set STREAMS_EVAL_DIR to the folder "
            f"holding {', '.join(SUITE_NAMES)}"
        )
    return directory


def suite_paths() -> list[Path]:
    directory = suite_dir()
    return [directory / name for name in SUITE_NAMES]


def gold_counts(path: Path) -> Counter[str]:
    """label_gold counts, read independently of the evaluation's reader."""
    with path.open(encoding="utf-8", newline="") as handle:
        return Counter(row["label_gold"] for row in csv.DictReader(handle))
