"""``streams eval`` through Faust's real command line, on an app that registers it."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from eval_suite_files import REPO_ROOT, suite_paths

from streams.evaluation.command import run_command
from streams.evaluation.results import EvaluationReport
from streams.settings import Settings

# The app wires its commands in streams.app; this registers the eval command on it the same way.
MAIN = (
    "from streams.app import app\n"
    "from streams.commands.evaluate import register\n"
    "from streams.settings import get_settings\n"
    "register(app, get_settings())\n"
    "app.main()\n"
)


def _streams(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
        "STREAMS_SCORING_BACKEND": "lexicon",
        "STREAMS_DATA_DIR": str(tmp_path / "data"),
    }
    return subprocess.run(
        [sys.executable, "-c", MAIN, "eval", *args], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_eval_json_and_plot(tmp_path: Path) -> None:
    english, dutch = (str(p) for p in suite_paths())
    png = tmp_path / "eval.png"
    done = _streams(tmp_path, english, dutch, "--limit", "200", "--json", "--plot", str(png),
                    "--threshold", "0.3")  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = EvaluationReport.model_validate(json.loads(done.stdout))
    assert report.threshold == 0.3 and [c.config for c in report.configs] == ["lexicon"]
    assert [f.file.evaluated for f in report.files] == [200, 200]
    assert png.read_bytes().startswith(b"\x89PNG")
    assert "400/400" in done.stderr  # the progress bar counts every case once


def test_eval_tables_by_default(tmp_path: Path) -> None:
    done = _streams(tmp_path, str(suite_paths()[1]), "--limit", "100", "--backend", "lexicon")
    assert done.returncode == 0, done.stderr
    assert "mhc_dutch.csv (suite)" in done.stdout and "by functionality" in done.stdout


def test_eval_explains_itself_and_its_errors(tmp_path: Path) -> None:
    helped = _streams(tmp_path, "--help")
    assert helped.returncode == 0
    for words in ("--backend", "--limit", "--json", "--plot", "--threshold", "streams[eval]"):
        assert words in helped.stdout, words
    bad = tmp_path / "bad.csv"
    bad.write_text("text\nhello\n", encoding="utf-8")
    failed = _streams(tmp_path, str(bad))
    assert failed.returncode == 2 and "bad.csv" in failed.stderr and "label_gold" in failed.stderr
    wrong = _streams(tmp_path, str(suite_paths()[0]), "--backend", "gpt")
    assert wrong.returncode == 2 and "unknown backend" in wrong.stderr


def test_missing_libraries_are_named_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "sklearn" else real(name)
    )
    settings = Settings(scoring_backend="lexicon")
    code = asyncio.run(run_command(suite_paths(), [], settings, limit=1, as_json=False,
                                   plot=None, threshold=None))  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "scikit-learn" in err and "streams[eval]" in err and "numpy" not in err.split(":")[1]
