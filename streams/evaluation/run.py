"""One evaluation run: read the files, score them with every configuration, build the report."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from streams.evaluation.cases import CaseFile, EvaluationInputError, file_kind, spread_sample
from streams.evaluation.examples import read_examples
from streams.evaluation.mapping import HATE_CATEGORY
from streams.evaluation.results import ConfigIdentity, EvaluationReport, FileResult
from streams.evaluation.scorecard import config_result, file_figures
from streams.evaluation.scoring import (
    BackendFactory,
    Progress,
    ScoringConfig,
    parse_config,
    score_all,
)
from streams.evaluation.suites import read_suite
from streams.scoring.factory import make_backend
from streams.settings import Settings


def identities(configs: Sequence[ScoringConfig]) -> list[ConfigIdentity]:
    result: list[ConfigIdentity] = []
    for config in configs:
        backend, model, prompt_version = config.identity()
        result.append(
            ConfigIdentity(
                config=config.label,
                backend=backend,
                model=model,
                prompt_version=prompt_version,
                batch_size=config.settings.batch_size,
            )
        )
    return result


async def evaluate(
    files: Sequence[CaseFile],
    configs: Sequence[ScoringConfig],
    threshold: float,
    limit: int | None = None,
    progress: Progress | None = None,
    backend_for: BackendFactory = make_backend,
) -> EvaluationReport:
    """Score ``files`` (at most ``limit`` cases each) with ``configs``; figures per file."""
    chosen = [spread_sample(f.cases, limit) for f in files]
    scores = await score_all(configs, chosen, progress, backend_for)
    results = [
        FileResult(
            file=file_figures(case_file.summary, len(cases)),
            results=[
                config_result(config.label, cases, scores[c][i], threshold)
                for c, config in enumerate(configs)
            ],
        )
        for i, (case_file, cases) in enumerate(zip(files, chosen, strict=True))
    ]
    return EvaluationReport(
        threshold=threshold,
        hate_category=HATE_CATEGORY.value,
        configs=identities(configs),
        files=results,
    )


async def evaluate_paths(
    paths: Sequence[Path],
    backends: Sequence[str],
    settings: Settings,
    *,
    threshold: float | None = None,
    limit: int | None = None,
    progress: Progress | None = None,
) -> EvaluationReport:
    """Read ``paths``, build a configuration per backend spec (default: the settings' own)."""
    configs = [parse_config(spec, settings) for spec in backends or [settings.scoring_backend]]
    files = [read_cases(path) for path in paths]
    chosen = settings.flag_threshold if threshold is None else threshold
    return await evaluate(files, configs, chosen, limit, progress)


def read_cases(path: Path) -> CaseFile:
    """Read a suite CSV or a training-examples JSONL file into labelled cases."""
    if not path.is_file():
        raise EvaluationInputError(f"{path}: no such file")
    if file_kind(path) == "suite":
        return read_suite(path)
    return read_examples(path)
