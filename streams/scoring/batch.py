"""Turns a micro-batch of raw records into the records to publish: scored ones and dead letters.

No Kafka here: the agent hands in what it consumed and publishes what comes back. Every input
record gives exactly one output (a scored record, a deletion tombstone, or a dead letter), so
nothing is dropped silently; a post is only ever published with scores a backend gave it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol

from pydantic import ValidationError

from streams.categories import CATEGORIES
from streams.errors import FatalLLMError
from streams.kafka.records import Consumed, Outgoing, dead_letter
from streams.models.scored import SourceOffset, Timings, Usage, build_scored_status
from streams.models.status import (
    RawRecordError,
    StatusDeleted,
    StatusToScore,
    author_id,
    parse_raw_record,
)
from streams.scoring.attempts import ScoringRun, Unscored
from streams.scoring.backend import ScoringBackend, response_format_of
from streams.scoring.breaker import Breaker
from streams.scoring.chunked import ChunkedPost, plan_post, score_chunked
from streams.scoring.repeat_cache import RepeatCache, text_key

log = logging.getLogger(__name__)

EMPTY_TEXT_BACKEND = "none"
EMPTY_TEXT_MODEL = "empty-text"
NO_USAGE = Usage(input_tokens=0, output_tokens=0)


class Calibration(Protocol):
    """What the classifier needs of a calibration map (``streams.calibration.map``)."""

    @property
    def version(self) -> str: ...

    def apply_all(self, scores: dict[str, float], language: str | None) -> dict[str, float]: ...


@dataclass
class BatchReport:
    """What one batch cost and did, for metrics and the demo summary."""

    outputs: list[Outgoing] = field(default_factory=list)
    run: ScoringRun = field(default_factory=ScoringRun)
    cache_hits: int = 0
    sent_to_llm: int = 0

    def add(self, other: BatchReport) -> None:
        """Append another report's outputs and add up what it cost."""
        self.outputs += other.outputs
        self.run.add(other.run)
        self.cache_hits += other.cache_hits
        self.sent_to_llm += other.sent_to_llm


class Classifier:
    """Scores micro-batches with one backend, a repeat cache and per-post attempts."""

    def __init__(
        self,
        backend: ScoringBackend,
        *,
        threshold: float,
        max_attempts: int,
        max_text_chars: int,
        cache: RepeatCache,
        items_per_call: int = 25,
        breaker: Breaker | None = None,
    ) -> None:
        self.backend = backend
        #: Most chunk items in one request when long posts are chunked (the batch size).
        self.items_per_call = items_per_call
        self.threshold = threshold
        self.max_attempts = max_attempts
        self.max_text_chars = max_text_chars
        self.cache = cache
        #: Holds the LLM calls while the endpoint is unavailable; None: an outage is a failed
        #: attempt of the posts sent.
        self.breaker = breaker
        #: Applied to the backend's scores as records are built (the repeat cache keeps raw
        #: ones), so a new map takes effect from the next record; swapped by the worker's
        #: calibration follower. None: scores go out as the backend gave them.
        self.calibration: Calibration | None = None

    async def process(self, batch: Sequence[Consumed]) -> BatchReport:
        """One output per input record, in input order."""
        started = time.monotonic()
        report = BatchReport()
        parsed: list[StatusToScore | StatusDeleted | Outgoing] = [self._parse(r) for r in batch]

        # Posts go to the backend keyed by text hash: identical texts in a batch are sent once,
        # and two records of one status (an edit) cannot collide in the reply. Cache hits are
        # taken now: while this batch waits for the LLM, other batches' scores can evict them.
        # A text longer than one item's budget goes out as several chunks (scoring.chunked).
        to_send: dict[str, ChunkedPost] = {}
        hits: dict[str, Mapping[str, float]] = {}
        for item in parsed:
            if isinstance(item, StatusToScore) and item.text.strip():
                key = text_key(item.text)
                if key in hits or key in to_send:
                    continue
                cached = self.cache.get(key)
                if cached is not None:
                    hits[key] = cached
                else:
                    to_send[key] = plan_post(key, item, self.max_text_chars)
        report.sent_to_llm = len(to_send)
        if to_send:
            report.run = await score_chunked(
                self.backend, list(to_send.values()), self.max_attempts, self.items_per_call,
                self.breaker,
            )
            for key, scored in report.run.scored.items():
                self.cache.put(key, scored.scores)

        share = 1 / len(to_send) if to_send else 0.0
        llm_done = time.monotonic()
        for record, item in zip(batch, parsed, strict=True):
            if isinstance(item, Outgoing):
                report.outputs.append(item)
            elif isinstance(item, StatusDeleted):
                report.outputs.append(
                    Outgoing("scored", item.status_id.encode(), None, outcome="deleted")
                )
            else:
                output = self._scored_output(record, item, report, hits, share, started, llm_done)
                report.outputs.append(output)
        return report

    async def process_isolating_errors(self, batch: Sequence[Consumed]) -> BatchReport:
        """:meth:`process`, but a bug that raises on some record costs that record a dead
        letter (``internal_error``), not its batch: no record is left without an output, so
        none holds its partition's acks back, and the worker does not crash-loop on it."""
        try:
            return await self.process(batch)
        except FatalLLMError:
            raise
        except Exception:
            log.exception("a batch of %d records raised; processing them one by one", len(batch))
        report = BatchReport()
        for record in batch:
            try:
                single = await self.process([record])
            except FatalLLMError:
                raise
            except Exception as exc:
                log.exception("record %s[%d]@%d raised; dead-lettered as internal_error",
                              record.topic, record.partition, record.offset)  # fmt: skip
                report.outputs.append(
                    dead_letter(record, "score", "internal_error", type(exc).__name__, str(exc))
                )
                continue
            report.add(single)
        return report

    def _parse(self, record: Consumed) -> StatusToScore | StatusDeleted | Outgoing:
        try:
            return parse_raw_record(record.key, record.value)
        except RawRecordError as exc:
            return dead_letter(record, "parse", exc.code, type(exc).__name__, str(exc))

    def _scored_output(
        self,
        record: Consumed,
        item: StatusToScore,
        report: BatchReport,
        hits: Mapping[str, Mapping[str, float]],
        share: float,
        started: float,
        llm_done: float,
    ) -> Outgoing:
        if not item.text.strip():
            zeros = dict.fromkeys(CATEGORIES, 0.0)
            return self._build(
                record, item, zeros, EMPTY_TEXT_BACKEND, EMPTY_TEXT_MODEL, "none",
                NO_USAGE, 0.0, started, llm_done, outcome="empty",
            )  # fmt: skip
        key = text_key(item.text)
        run = report.run
        if key in run.scored:
            usage = Usage(
                input_tokens=round(run.usage.input_tokens * share),
                cached_input_tokens=round(run.usage.cached_input_tokens * share),
                output_tokens=round(run.usage.output_tokens * share),
            )
            return self._build(
                record, item, run.scored[key].scores, self.backend.name, self.backend.model,
                self.backend.prompt_version, usage, run.cost_usd * share, started, llm_done,
                llm_ms=run.llm_ms,
            )  # fmt: skip
        cached = hits.get(key)
        if cached is not None:
            report.cache_hits += 1
            return self._build(
                record, item, cached, self.backend.name, self.backend.model,
                self.backend.prompt_version, NO_USAGE, 0.0, started, llm_done, outcome="cached",
            )  # fmt: skip
        failure = run.unscored.get(key) or Unscored(
            key, "item_missing", "no result", 0, datetime.now(UTC)
        )
        return dead_letter(
            record, "score", failure.reason, "UnscoredPost",
            f"{failure.reason}: {failure.detail}", max(failure.attempts, 1),
            failure.first_failure_at,
        )  # fmt: skip

    def _build(
        self,
        record: Consumed,
        item: StatusToScore,
        scores: Mapping[str, float],
        backend: str,
        model: str,
        prompt_version: str,
        usage: Usage,
        cost: float,
        started: float,
        llm_done: float,
        *,
        outcome: Literal["scored", "cached", "empty"] = "scored",
        llm_ms: float = 0.0,
    ) -> Outgoing:
        now = time.monotonic()
        calibration = self.calibration if outcome != "empty" else None
        raw = dict(scores)
        calibrated = raw if calibration is None else calibration.apply_all(raw, item.language)
        try:
            scored = build_scored_status(
                item.status_id,
                item.language,
                calibrated,
                self.threshold,
                raw_scores=raw,
                calibration_version=calibration.version if calibration is not None else None,
                reblog_of=item.reblog_of,
                response_format=response_format_of(self.backend) if outcome != "empty" else None,
                backend=backend,
                model=model,
                prompt_version=prompt_version,
                usage=usage.model_copy(update={"cost_usd": cost}),
                timings=_timings(record, started, now, llm_ms),
                scored_at=datetime.now(UTC),
                edited=item.edited,
                account_id=author_id(item.status),
                source=SourceOffset(
                    topic=record.topic, partition=record.partition, offset=record.offset
                ),
            )
        except ValidationError as exc:
            # Backends validate their scores; this is the last line of defence.
            return dead_letter(record, "score", "invalid_scores", "ValidationError", str(exc))
        latency = None
        if record.timestamp_ms:
            latency = max(0.0, time.time() - record.timestamp_ms / 1000)
        return Outgoing(
            "scored",
            item.status_id.encode(),
            scored.to_bytes(),
            outcome=outcome,
            flagged_categories=tuple(str(c) for c in scored.flagged_categories),
            scores=tuple(scored.scores.as_dict().values()),
            latency_s=latency,
        )


def _timings(record: Consumed, started: float, now: float, llm_ms: float) -> Timings:
    return Timings(
        queued_ms=max(0.0, (started - record.read_at) * 1000),
        llm_ms=llm_ms,
        total_ms=max(0.0, (now - record.read_at) * 1000),
    )
