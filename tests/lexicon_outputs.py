"""Scoring records in-process with the lexicon, for tests that judge a run's outputs."""

from __future__ import annotations

import asyncio

from streams.kafka.records import Consumed
from streams.scoring.backend import LexiconBackend
from streams.scoring.batch import Classifier
from streams.scoring.repeat_cache import RepeatCache


def lexicon_outputs(values: dict[str, bytes]) -> dict[str, bytes]:
    """The value the classifier publishes for each raw record, by key."""
    classifier = Classifier(
        LexiconBackend(), threshold=0.5, max_attempts=1, max_text_chars=4000, cache=RepeatCache(0)
    )
    batch = [
        Consumed("raw", 0, offset, key.encode(), value, read_at=0.0)
        for offset, (key, value) in enumerate(values.items())
    ]
    report = asyncio.run(classifier.process(batch))
    return {(out.key or b"").decode(): out.value or b"" for out in report.outputs}
