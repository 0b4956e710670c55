"""Long posts through the real broker, a worker process and the real openai client against the
local LLM server (which scores each item's text with the lexicon): nothing past one item's
budget goes unscored."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from kafka_io import create_topics, produce, read_until
from long_posts import as_bytes, toxic_after_padding, toxic_last_alt

from streams.models.scored import ScoredStatus
from streams.testing.llm_server.process import LocalLLMProcess
from streams.testing.topics import RunTopics
from streams.testing.workers import WorkerProcess, as_env

pytestmark = pytest.mark.broker


def test_toxicity_after_5000_characters_and_in_the_last_alt_text_is_flagged(
    kafka_bootstrap: str, worker_env: dict[str, str], run_topics: RunTopics, tmp_path: Path,
    local_llm: Callable[..., LocalLLMProcess],
) -> None:  # fmt: skip
    llm = local_llm()
    env = {**worker_env, **as_env(llm.worker_fields())}
    statuses = [
        toxic_after_padding("2001"),
        toxic_last_alt("2002"),
        {"id": "2003", "content": "<p>Mooi weer vandaag in Utrecht.</p>", "language": "nl"},
    ]
    create_topics(env)
    asyncio.run(produce(
        kafka_bootstrap, run_topics.raw, [(str(s["id"]).encode(), as_bytes(s)) for s in statuses]
    ))  # fmt: skip
    with WorkerProcess(env, tmp_path / "worker.log"):
        records = asyncio.run(read_until(
            kafka_bootstrap, [run_topics.scored, run_topics.dlq],
            lambda rs: len({r.key for r in rs}) >= 3, timeout_s=120,
        ))  # fmt: skip
    assert all(r.topic == run_topics.scored for r in records), "a long post was dead-lettered"
    scored = {(r.key or b"").decode(): ScoredStatus.model_validate_json(r.value or b"")
              for r in records}  # fmt: skip
    assert scored["2001"].flagged and scored["2001"].scores.threat == 0.9
    assert scored["2002"].flagged and scored["2002"].scores.dehumanization == 0.9
    assert not scored["2003"].flagged and scored["2001"].backend == "openai"
    stats = llm.stats()
    assert stats["items"] > 3, "the long posts went as several chunks"
