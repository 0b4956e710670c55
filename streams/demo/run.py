"""The demo: a broker, the topics, a worker, the bundled sample posts, a summary of the scores,
and an evaluation of them against the sample's hand labels.

Runs on a fresh machine without an OpenAI key (the offline lexicon backend scores then).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from streams.categories import CATEGORIES
from streams.demo.sample import LABELS_FILE, SamplePost, load_sample, load_sample_labels
from streams.errors import PortInUseError, StreamsError
from streams.kafka.admin import ensure_topics
from streams.kafka.catalog import catalog
from streams.kafka.local_broker import kafka_up
from streams.models.dead_letter import DeadLetterHeaders
from streams.models.scored import ScoredStatus
from streams.scoring.factory import backend_name
from streams.settings import Settings
from streams.testing.workers import WorkerProcess, worker_env


@dataclass
class Summary:
    posts_sent: int = 0
    scored: dict[str, ScoredStatus] = field(default_factory=dict)
    dead_letters: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def lines(self, backend: str) -> list[str]:
        flagged = Counter(c.value for s in self.scored.values() for c in s.flagged_categories)
        tokens_in = sum(s.usage.input_tokens for s in self.scored.values())
        tokens_out = sum(s.usage.output_tokens for s in self.scored.values())
        cost = sum(s.usage.cost_usd for s in self.scored.values())
        out = [
            f"posts sent: {self.posts_sent}, statuses scored: {len(self.scored)} "
            f"(backend {backend}), flagged: {sum(s.flagged for s in self.scored.values())}, "
            f"dead letters: {sum(self.dead_letters.values())}, time: {self.seconds:.1f} s",
            "flagged per category: "
            + ", ".join(f"{c} {flagged.get(c, 0)}" for c in CATEGORIES),
            f"tokens: {tokens_in} in, {tokens_out} out, cost ${cost:.4f}",
        ]
        if self.dead_letters:
            out.append(f"dead letters by reason: {dict(self.dead_letters)}")
        return out


async def publish(bootstrap: str, topic: str, posts: list[SamplePost]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        futures = [await producer.send(topic, key=p.key, value=p.value) for p in posts]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def collect(
    settings: Settings, expected: set[str], since_ms: int, timeout_s: float, summary: Summary
) -> None:
    """Read scored and dead-letter records of this run until every expected id is in."""
    consumer = AIOKafkaConsumer(
        settings.topic_scored, settings.topic_dlq,
        bootstrap_servers=settings.kafka_bootstrap_servers, auto_offset_reset="earliest",
    )  # fmt: skip
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                for record in batch:
                    key = (record.key or b"").decode()
                    if record.timestamp < since_ms or (not record.value and not record.headers):
                        continue
                    if record.topic == settings.topic_dlq:
                        headers = DeadLetterHeaders.from_headers(list(record.headers))
                        summary.dead_letters[headers.reason] += 1
                        expected.discard(key)
                    elif key in expected or key in summary.scored:
                        summary.scored[key] = ScoredStatus.model_validate_json(record.value)
                        expected.discard(key)
            if not expected:
                return
        raise StreamsError(f"{len(expected)} statuses were not scored within {timeout_s:.0f} s")
    finally:
        await consumer.stop()


def broker_for_demo(settings: Settings) -> tuple[Settings, str]:
    """The configured broker when STREAMS_KAFKA_BOOTSTRAP_SERVERS is set, else a local one."""
    if os.environ.get("STREAMS_KAFKA_BOOTSTRAP_SERVERS"):
        return settings, f"using the broker at {settings.kafka_bootstrap_servers}"
    try:
        bootstrap = kafka_up(settings, settings.kafka_port)
    except PortInUseError:
        bootstrap = kafka_up(settings, 0)
    return (
        settings.model_copy(update={"kafka_bootstrap_servers": bootstrap}),
        f"local Apache Kafka at {bootstrap} (stop it with `streams kafka down`)",
    )


def run_demo(settings: Settings, timeout_s: float = 300.0) -> Summary:
    say = print
    backend = backend_name(settings)
    if backend == "lexicon":
        say("no OPENAI_API_KEY set: scoring with the offline lexicon baseline (backend=lexicon)")
    settings, where = broker_for_demo(settings)
    say(where)
    for report in asyncio.run(ensure_topics(settings.kafka_bootstrap_servers, catalog(settings))):
        say(f"  topic {report.line()}")
    posts = load_sample()
    expected = {p.scored_id for p in posts}
    log_dir = Path(tempfile.mkdtemp(prefix="streams-demo-"))
    # The demo's own API token, so the feedback API is open for this run only.
    token = secrets.token_urlsafe(32)
    env = worker_env(
        settings.kafka_bootstrap_servers, settings.app_id, settings.data_dir,
        fields={"api_token": token},
    )  # fmt: skip
    summary = Summary(posts_sent=len(posts))
    worker = WorkerProcess(env, log_dir / "worker.log").start()
    try:
        worker.wait_ready()
        say(f"worker started: {worker.web_url}/metrics, log {worker.log_path}")
        say(f"feedback API: {worker.web_url}/api/v1/feedback with Authorization: Bearer {token}")
        started = time.monotonic()
        since_ms = int(time.time() * 1000) - 1000
        asyncio.run(publish(settings.kafka_bootstrap_servers, settings.topic_raw, posts))
        say(f"published {len(posts)} sample posts to {settings.topic_raw}; waiting for scores ...")
        asyncio.run(collect(settings, expected, since_ms, timeout_s, summary))
        summary.seconds = time.monotonic() - started
    finally:
        code = worker.stop()
        if code not in (0, None):
            print(f"worker exited with {code}; log: {worker.log_path}", file=sys.stderr)
    for line in summary.lines(backend):
        say(line)
    for line in evaluation_lines(summary):
        say(line)
    return summary


def evaluation_lines(summary: Summary) -> list[str]:
    """The scores against the sample's hand labels, or why they cannot be evaluated here."""
    from streams.evaluation.command import INSTALL_HINT, missing_libraries

    missing = missing_libraries(plot=False)
    if missing:
        return [f"evaluation skipped: it needs {', '.join(missing)} ({INSTALL_HINT})"]
    from streams.demo.assessment import assess, assessment_lines, by_post

    labels = load_sample_labels()
    result = assess(by_post(summary.scored), labels.categories_of())
    source = f"the hand labels of streams/data/{LABELS_FILE} (one annotator)"
    return assessment_lines(result, source)
