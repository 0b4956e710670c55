"""Chooses the scoring backend the settings ask for, and builds the classifier around it."""

from __future__ import annotations

import logging

from streams.scoring.backend import LexiconBackend, ScoringBackend
from streams.scoring.batch import Classifier
from streams.scoring.breaker import Breaker
from streams.scoring.repeat_cache import RepeatCache
from streams.settings import Settings

log = logging.getLogger(__name__)


def backend_name(settings: Settings) -> str:
    if settings.scoring_backend != "auto":
        return settings.scoring_backend
    return "openai" if settings.openai_api_key is not None else "lexicon"


def backend_identity(settings: Settings) -> tuple[str, str, str]:
    """(backend, model, prompt version) the settings select, without building the backend."""
    if backend_name(settings) == "openai":
        from streams.llm.prompt import PROMPT_VERSION

        return "openai", settings.openai_model, PROMPT_VERSION
    return LexiconBackend.name, LexiconBackend.model, LexiconBackend.prompt_version


def make_backend(settings: Settings) -> ScoringBackend:
    name = backend_name(settings)
    if name == "openai":
        from streams.scoring.openai_backend import OpenAIBackend

        backend: ScoringBackend = OpenAIBackend.from_settings(settings)
        return backend
    if settings.scoring_backend == "auto":
        log.warning(
            "no OPENAI_API_KEY set: scoring with the offline lexicon baseline "
            "(backend=lexicon on every record); set the key to score with the LLM"
        )
    return LexiconBackend()


def make_classifier(
    settings: Settings, backend: ScoringBackend, *, wait_out_outages: bool = True
) -> Classifier:
    """The batch classifier the settings describe, scoring with ``backend``, its calls held
    by a circuit breaker while the endpoint is unavailable. A one-off run (``streams
    shadow``) passes ``wait_out_outages=False``: an endpoint that does not answer must end it
    with an error, not hold it forever."""
    return Classifier(
        backend,
        threshold=settings.flag_threshold,
        max_attempts=settings.max_attempts,
        max_text_chars=settings.max_text_chars,
        cache=RepeatCache(settings.content_cache_size),
        items_per_call=settings.batch_size,
        breaker=Breaker.from_settings(settings, backend.probe) if wait_out_outages else None,
    )
