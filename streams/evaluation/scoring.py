"""Scores labelled cases through scoring configurations, as the classifier would score posts.

A configuration is a backend name plus settings overrides (``openai,openai_model=gpt-4o``); it
builds its backend with ``make_backend`` from the run's settings with those overrides. Cases
go in batches of the configuration's ``batch_size``, at most ``max_batches_in_flight`` at a
time, each through ``score_chunked`` (a text over ``max_text_chars`` in chunks, as the
classifier scores posts): a case still without scores after the last attempt
is unscored (with the reason), never given zeros. Batches never mix files, so each file's
tokens and cost are its own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, get_args

from pydantic import ValidationError

from streams.errors import ConfigurationError
from streams.evaluation.cases import LabelledCase
from streams.scoring.attempts import ScoringRun, Unscored
from streams.scoring.backend import ScoringBackend, TokenUsage
from streams.scoring.chunked import ChunkedPost, plan_text, score_chunked
from streams.scoring.factory import backend_identity, make_backend
from streams.settings import Settings

Progress = Callable[[int, int], None]
BackendFactory = Callable[[Settings], ScoringBackend]


def backend_names() -> tuple[str, ...]:
    """The values ``scoring_backend`` accepts (auto, openai, lexicon)."""
    annotation = Settings.model_fields["scoring_backend"].annotation
    return tuple(str(name) for name in get_args(annotation))


@dataclass(frozen=True)
class ScoringConfig:
    """One column of the comparison: a label and the settings its backend is built from."""

    label: str
    settings: Settings

    def identity(self) -> tuple[str, str, str]:
        """(backend, model, prompt version)."""
        return backend_identity(self.settings)


def parse_config(spec: str, base: Settings) -> ScoringConfig:
    """``NAME[,FIELD=VALUE...]``: a backend and overrides of settings fields (lower case)."""
    name, *pairs = [part.strip() for part in spec.split(",")]
    if name not in backend_names():
        raise ConfigurationError(
            f"--backend {spec!r}: unknown backend {name!r}; expected one of "
            f"{', '.join(backend_names())}"
        )
    overrides: dict[str, Any] = {"scoring_backend": name}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().lower()
        if not sep or key not in Settings.model_fields:
            raise ConfigurationError(
                f"--backend {spec!r}: {pair!r} is not FIELD=VALUE with a settings field "
                "(e.g. openai_model=gpt-4o, batch_size=10)"
            )
        overrides[key] = value.strip()
    try:
        # model_validate, not the constructor: the run's settings are final, the environment
        # is not read again.
        settings = Settings.model_validate({**base.model_dump(), **overrides})
    except ValidationError as exc:
        raise ConfigurationError(f"--backend {spec!r}: {exc}") from None
    return ScoringConfig(spec, settings)


@dataclass
class FileScores:
    """What one configuration gave for the cases of one file."""

    scores: dict[str, Mapping[str, float]] = field(default_factory=dict)
    unscored: dict[str, Unscored] = field(default_factory=dict)
    usage: TokenUsage = field(default_factory=TokenUsage)
    cost_usd: float = 0.0
    calls: int = 0
    seconds: float = 0.0

    def add(self, run: ScoringRun) -> None:
        self.scores.update({sid: item.scores for sid, item in run.scored.items()})
        self.unscored.update(run.unscored)
        self.usage = self.usage + run.usage
        self.cost_usd += run.cost_usd
        self.calls += run.calls


def batches(cases: Sequence[LabelledCase], size: int, max_chars: int) -> list[list[ChunkedPost]]:
    # A text longer than one item's budget is scored in chunks, as the classifier scores posts.
    posts = [plan_text(c.case_id, c.text, c.language, max_chars) for c in cases]
    return [posts[i : i + size] for i in range(0, len(posts), size)]


async def score_file(
    config: ScoringConfig,
    backend: ScoringBackend,
    cases: Sequence[LabelledCase],
    progress: Callable[[int], None],
) -> FileScores:
    """Score one file's cases with an open backend; ``progress(n)`` after each batch of n."""
    settings = config.settings
    result = FileScores()
    started = time.perf_counter()
    slots = asyncio.Semaphore(settings.max_batches_in_flight)

    async def one(batch: list[ChunkedPost]) -> None:
        async with slots:
            run = await score_chunked(backend, batch, settings.max_attempts, settings.batch_size)
        result.add(run)
        progress(len(batch))

    work = batches(cases, settings.batch_size, settings.max_text_chars)
    await asyncio.gather(*(one(batch) for batch in work))
    result.seconds = time.perf_counter() - started
    return result


async def score_all(
    configs: Sequence[ScoringConfig],
    files: Sequence[Sequence[LabelledCase]],
    progress: Progress | None = None,
    backend_for: BackendFactory = make_backend,
) -> list[list[FileScores]]:
    """``[config][file]`` scores; configurations run one after another, each over every file.

    ``backend_for`` builds a configuration's backend from its settings (a candidate wrapping
    another backend, or a test's, can come in here). FatalLLMError (bad key, unknown model)
    propagates: no figure of that backend would mean anything.
    """
    total = len(configs) * sum(len(cases) for cases in files)
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, total)

    if progress is not None:
        progress(0, total)
    results: list[list[FileScores]] = []
    for config in configs:
        backend = backend_for(config.settings)
        try:
            results.append([await score_file(config, backend, cases, advance) for cases in files])
        finally:
            await backend.close()
    return results
