"""What ``streams eval`` does, apart from its click declaration (``streams.commands.evaluate``).

Exit status: 0 every case scored, 1 some cases unscored (the figures cover the scored ones),
2 the evaluation could not run (a file, an option, the LLM endpoint, a missing library).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from streams.errors import StreamsError
from streams.settings import Settings

#: Import name -> distribution, for the message when one is missing.
EVAL_LIBRARIES = {"numpy": "numpy", "sklearn": "scikit-learn"}
PLOT_LIBRARIES = {"matplotlib": "matplotlib"}
INSTALL_HINT = "pip install 'streams[eval]'"


def missing_libraries(plot: bool) -> list[str]:
    wanted = {**EVAL_LIBRARIES, **(PLOT_LIBRARIES if plot else {})}
    return [dist for module, dist in wanted.items() if importlib.util.find_spec(module) is None]


async def run_command(
    paths: Sequence[Path],
    backends: Sequence[str],
    settings: Settings,
    *,
    limit: int | None,
    as_json: bool,
    plot: Path | None,
    threshold: float | None,
) -> int:
    """Evaluate, print the tables (or one JSON object), write the plot; the exit status."""
    missing = missing_libraries(plot is not None)
    if missing:
        print(
            f"error: streams eval needs {', '.join(missing)}: {INSTALL_HINT} "
            "(or pip install " + " ".join(missing) + ")",
            file=sys.stderr,
        )
        return 2
    # The one import of the progress bar: it may move with the harvest export.
    from streams.evaluation.report import render
    from streams.evaluation.run import evaluate_paths
    from streams.harvest.export import progress_bar

    try:
        report = await evaluate_paths(
            paths, backends, settings, threshold=threshold, limit=limit, progress=progress_bar()
        )
    except StreamsError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 2
    if plot is not None:
        from streams.evaluation.plot import write_plot

        write_plot(report, plot)
        print(f"plot written to {plot}", file=sys.stderr)
    if as_json:
        print(json.dumps(report.model_dump(mode="json"), ensure_ascii=False))
    else:
        print(render(report), end="")
    unscored = any(r.unscored for f in report.files for r in f.results)
    return 1 if unscored else 0
