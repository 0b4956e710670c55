"""The dashboard and alert rules proven against a real Prometheus scraping a real worker.

The proof starts a worker on the session's broker (openai backend against the local LLM server,
with faults), feeds it posts and bad records while Debian's ``prometheus`` scrapes it every
second, then asks that Prometheus every query of every dashboard panel (each must return a
series) and every rule expression (each must parse and evaluate). ``prometheus`` and
``promtool`` come from ``scripts/install-prometheus``; the static checks of the same files are
in test_observability_files.py.
"""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml
from aiokafka import AIOKafkaProducer
from kafka_io import BENIGN, TOXIC, status
from observability_files import (
    PROMETHEUS_DIR,
    PROMETHEUS_YML,
    WORKER_JOB,
    concrete,
    metric_names,
    query_panels,
    rule_groups,
    tool,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from streams import metrics
from streams.kafka.admin import ensure_topics
from streams.kafka.catalog import catalog
from streams.kafka.launcher import free_port
from streams.settings import Settings
from streams.testing.llm_server.process import LocalLLMProcess
from streams.testing.topics import ROLES, RunTopics
from streams.testing.workers import WorkerProcess, worker_env

#: Label names the worker may use; anything else may be an unbounded value (ids, text).
ALLOWED_LABELS = {
    "backend", "outcome", "stage", "reason", "kind", "category", "topic", "partition",
    "source", "feedback_type", "version", "model", "prompt_version", "le", "sink", "mode",
}  # fmt: skip
MAX_VALUES_PER_LABEL = 50

# --- the proof: a real Prometheus scraping a real worker -------------------------------------


Record = tuple[str, bytes | None, bytes | None]  # role ("raw" or "corrections"), key, value


@dataclass
class Load:
    """Records sent a few at a time by a background thread, so rates stay up while we query."""

    bootstrap: str
    topics: dict[str, str]  # role -> topic name
    records: list[Record]
    per_tick: int = 5
    tick_s: float = 0.25
    sent: int = 0
    error: BaseException | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self) -> Load:
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self.thread.start()
        return self

    async def _run(self) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        try:
            await producer.start()
            for i in range(0, len(self.records), self.per_tick):
                if self.stop.is_set():
                    return
                chunk = self.records[i : i + self.per_tick]
                await asyncio.gather(
                    *[await producer.send(self.topics[r], key=k, value=v) for r, k, v in chunk]
                )
                self.sent += len(chunk)
                await asyncio.sleep(self.tick_s)
        except BaseException as exc:
            self.error = exc
        finally:
            await producer.stop()

    def halt(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(30)


@dataclass
class Observed:
    worker: WorkerProcess
    prometheus_url: str
    texts: list[str]
    ids: set[str]
    topics: set[str]
    load: Load


@dataclass
class Traffic:
    records: list[Record] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    #: Status, account, moderator and correction ids: none may show up in a label.
    ids: set[str] = field(default_factory=set)


def build_traffic(run: str, n_posts: int = 1500) -> Traffic:
    """Posts (one in ten repeating an earlier text), deletions, moderators' corrections, and
    bad raw records and corrections, so every counter of the worker moves."""
    texts = TOXIC + BENIGN
    traffic = Traffic()
    first_id = 731_000_000_000 + (uuid.UUID(run).int % 1_000_000) * 1000
    sources = ("user_report", "appeal", "admin_override")
    feedback = ("false_positive", "false_negative", "other")
    for n in range(n_posts):
        status_id = str(first_id + n)
        account_id = str(109_000_000_000_000_000 + n)
        traffic.ids |= {status_id, account_id}
        key = status_id.encode()
        if n % 50 == 7:
            traffic.records.append(("raw", key, b"not json"))
        elif n % 50 == 19:
            traffic.records.append(("raw", key, b'{"id": "' + key + b'"'))
        elif n % 50 == 31:
            traffic.records.append(
                ("raw", key, json.dumps({"id": status_id, "content": 5}).encode())
            )
        elif n % 40 == 23:
            traffic.records.append(("raw", str(first_id + n - 3).encode(), None))  # a deletion
        elif n % 100 == 45:
            traffic.records.append(("corrections", key, b"{}"))  # not a correction
        else:
            m = n - 9 if n % 10 == 9 else n  # a repeat: the repeat cache's hits
            text = f"{texts[m % len(texts)]} (#{m})"
            post = status(int(status_id), text, account={"id": account_id, "acct": f"u{n}"})
            post["content"] = f"<p>{text}</p>"
            traffic.texts.append(text)
            traffic.records.append(("raw", key, json.dumps(post).encode()))
            if n % 5 == 0:
                correction_id, actor_id = f"corr-{run[:8]}-{n}", f"moderator-{run[:8]}-{n}"
                correction = {
                    "correction_id": correction_id,
                    "status_id": status_id,
                    "text": text,
                    "language": "nl",
                    "feedback_type": feedback[n % 3],
                    "expected_categories": ["insult"] if n % 3 else [],
                    "actual_categories": [],
                    "source": sources[n % 3],
                    "actor_id": actor_id,
                    "timestamp": "2026-11-01T12:00:00+00:00",
                }
                traffic.ids |= {correction_id, actor_id}
                traffic.records.append(("corrections", key, json.dumps(correction).encode()))
    return traffic


def prometheus_config(worker_port: int) -> dict[str, Any]:
    """deploy/prometheus/prometheus.yml with the worker on localhost and 1 s intervals."""
    config: dict[str, Any] = yaml.safe_load(PROMETHEUS_YML.read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(PROMETHEUS_DIR / f) for f in config["rule_files"]]
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == WORKER_JOB]
    job["static_configs"] = [{"targets": [f"127.0.0.1:{worker_port}"]}]
    return config


def api(base_url: str, path: str, **params: str) -> dict[str, Any]:
    url = f"{base_url}{path}?{urllib.parse.urlencode(params)}" if params else base_url + path
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        body = exc.read()  # 400/422 carry {"status": "error", "error": ...}
    result: dict[str, Any] = json.loads(body)
    return result


def query(base_url: str, expr: str) -> dict[str, Any]:
    return api(base_url, "/api/v1/query", query=expr, time=f"{time.time():.3f}")


def scalar(base_url: str, expr: str) -> float:
    result = query(base_url, expr)["data"]["result"]
    return float(result[0]["value"][1]) if result else 0.0


def wait_for(
    what: str, ready: Callable[[], bool], timeout_s: float, logs: Callable[[], str]
) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not reached within {timeout_s:.0f} s\n{logs()}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def observed(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Observed]:
    prometheus = tool("prometheus")
    tmp = tmp_path_factory.mktemp("observability")
    run = uuid.uuid4().hex
    topics = {role: f"{role}.observability.{run[:8]}" for role in ROLES}
    traffic = build_traffic(run)
    procs: list[Any] = []
    load = Load(kafka_bootstrap, topics, traffic.records)
    try:
        llm = LocalLLMProcess(tmp / "llm.log", fault_rate=0.2, latency_ms=20, seed=6).start()
        procs.append(llm)
        llm.set_faults(hang_s=3)
        env = worker_env(
            kafka_bootstrap, f"app.observability.{run[:8]}", tmp / "worker-data",
            topics=RunTopics(**topics), partitions=3,
            fields={
                **llm.worker_fields(timeout_s=2),
                "broker_commit_interval_s": 0.5,
                "harvest_flush_interval_s": 0.2,
                "openai_max_retries": 1,
                # One attempt: a post the LLM garbles goes straight to the dead-letter topic.
                "max_attempts": 1,
                "batch_size": 10,
                # The repeat cache as configured by default, so its hits show on the dashboard.
                "content_cache_size": Settings().content_cache_size,
            },
        )  # fmt: skip
        # As `streams topics create` does (the compose file's topics service): topics made on
        # the fly by the first record would have the broker's default partition count.
        settings = Settings.model_validate(
            {"kafka_bootstrap_servers": kafka_bootstrap, "topic_partitions": 3}
            | {f"topic_{role}": name for role, name in topics.items()}
        )
        asyncio.run(ensure_topics(kafka_bootstrap, catalog(settings), 1))
        load.start()
        worker = WorkerProcess(env, tmp / "worker.log")
        procs.append(worker)
        worker.start().wait_ready(path="/metrics")

        config = tmp / "prometheus.json"  # JSON is YAML: prometheus reads it as is
        config.write_text(json.dumps(prometheus_config(int(env["STREAMS_WEB_PORT"]))))
        port = free_port()
        prometheus_log = tmp / "prometheus.log"
        with open(prometheus_log, "wb") as log:
            proc = subprocess.Popen(
                [prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=tmp,
            )  # fmt: skip
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"

        def logs() -> str:
            return (
                f"prometheus log ({prometheus_log}):\n{prometheus_log.read_text()[-3000:]}\n"
                f"worker log ({worker.log_path}):\n{worker.log_tail()}"
            )

        def scraped_and_busy() -> bool:
            if proc.poll() is not None or load.error is not None:
                pytest.fail(f"prometheus exited or the load failed ({load.error!r})\n{logs()}")
            worker.wait_ready(timeout_s=1, path="/metrics")  # raises if the worker died
            try:
                scrapes = scalar(url, f'count_over_time(up{{job="{WORKER_JOB}"}}[1m])')
                up = scalar(url, f'up{{job="{WORKER_JOB}"}}')
                scored_posts = scalar(url, "sum(streams_posts_scored_total)")
                dead = scalar(url, "sum(streams_dead_letters_total)")
                examples = scalar(url, "sum(streams_training_examples_total)")
            except (urllib.error.URLError, ConnectionError, KeyError):
                return False
            return scrapes >= 20 and up == 1 and min(scored_posts, dead, examples) > 0

        wait_for("20 scrapes of a worker that scored, dead-lettered and harvested",
                 scraped_and_busy, 120, logs)  # fmt: skip
        yield Observed(worker, url, traffic.texts, traffic.ids, set(topics.values()), load)
    finally:
        load.halt()
        for p in reversed(procs):
            if isinstance(p, subprocess.Popen):
                p.terminate()
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            else:
                p.stop()


def worker_exposition(observed: Observed) -> list[Metric]:
    with urllib.request.urlopen(observed.worker.web_url + "/metrics", timeout=5) as response:
        return list(text_string_to_metric_families(response.read().decode()))


@pytest.mark.broker
def test_every_panel_query_and_rule_expression_works_on_a_real_prometheus(
    observed: Observed,
) -> None:
    url = observed.prometheus_url
    exposed = {s.name for f in worker_exposition(observed) for s in f.samples}
    panels = query_panels()
    failures: list[str] = []
    queries = with_data = 0
    not_finite: list[str] = []
    for panel in panels:
        for target in panel["targets"]:
            queries += 1
            expr = concrete(target["expr"])
            result = query(url, expr)
            if result.get("status") != "success":
                failures.append(f"{panel['title']!r}: {expr}\n    error: {result.get('error')}")
            elif not result["data"]["result"]:
                missing = sorted(metric_names(expr) - exposed)
                failures.append(f"{panel['title']!r}: {expr}\n    no series; "
                                f"not in the worker's /metrics: {missing}")  # fmt: skip
            else:
                with_data += 1
                values = [float(r["value"][1]) for r in result["data"]["result"]]
                if not any(math.isfinite(v) for v in values):
                    not_finite.append(panel["title"])

    # The rules as the real Prometheus loaded them: all of them, evaluated without error.
    loaded = [r for g in api(url, "/api/v1/rules")["data"]["groups"] for r in g["rules"]]
    in_file = [r for g in rule_groups() for r in g["rules"]]
    assert len(loaded) == len(in_file), f"prometheus loaded {len(loaded)} of {len(in_file)} rules"
    for rule in loaded:
        if rule["health"] != "ok":
            failures.append(
                f"rule {rule['name']}: health {rule['health']}: {rule.get('lastError')}"
            )
        result = query(url, rule["query"])
        if result.get("status") != "success":
            failures.append(f"rule {rule['name']}: {rule['query']}\n    {result.get('error')}")
    alerts = sum(r["type"] == "alerting" for r in loaded)

    summary = (
        f"checked {len(panels)} panels, {queries} queries ({with_data} returned data, "
        f"{with_data - len(not_finite)} a number, NaN only: {not_finite}), "
        f"{alerts} alert expressions (+{len(loaded) - alerts} recording rules)"
    )
    print(f"\nobservability: {summary}; {observed.load.sent} records produced")
    assert failures == [], summary + "\n" + "\n".join(failures)


def label_problems(families: list[Metric], texts: list[str], ids: set[str]) -> list[str]:
    """Labels that are not in the allowed set, hold an id or a piece of post text, or have
    more values than a bounded set would."""
    windows = {t[i : i + 12] for t in texts for i in range(max(1, len(t) - 11))}
    values: dict[str, set[str]] = {}
    problems: list[str] = []
    for family in families:
        for sample in family.samples:
            for name, value in sample.labels.items():
                values.setdefault(name, set()).add(value)
                if name not in ALLOWED_LABELS:
                    problems.append(f"{sample.name}: label {name!r} is not an allowed label")
                if any(i in value for i in ids):
                    problems.append(f"{sample.name}: {name}={value!r} holds an id")
                if any(value[i : i + 12] in windows for i in range(max(0, len(value) - 11))):
                    problems.append(f"{sample.name}: {name}={value!r} holds post text")
    for name, seen in values.items():
        if name != "le" and len(seen) > MAX_VALUES_PER_LABEL:
            problems.append(f"label {name!r} has {len(seen)} values (unbounded?)")
    return problems


def test_the_label_scan_catches_ids_text_and_unknown_labels() -> None:
    exposition = "\n".join(
        [
            "# TYPE streams_a_total counter",
            'streams_a_total{reason="failed for 731000000042"} 1',
            'streams_a_total{reason="about: what an idiot, you absolute"} 1',
            'streams_a_total{status_id="1"} 1',
            *(f'streams_a_total{{topic="t{i}"}} 1' for i in range(MAX_VALUES_PER_LABEL + 1)),
            "",
        ]
    )
    families = list(text_string_to_metric_families(exposition))
    problems = label_problems(
        families, ["what an idiot, you absolute moron (#3)"], {"731000000042"}
    )
    assert [p.split(": ", 1)[-1] for p in problems] == [
        "reason='failed for 731000000042' holds an id",
        "reason='about: what an idiot, you absolute' holds post text",
        "label 'status_id' is not an allowed label",
        f"label 'topic' has {MAX_VALUES_PER_LABEL + 1} values (unbounded?)",
    ]


@pytest.mark.broker
def test_metric_labels_carry_no_post_text_or_ids(observed: Observed) -> None:
    families = worker_exposition(observed)
    problems = label_problems(families, observed.texts, observed.ids)
    topics = {s.labels["topic"] for f in families for s in f.samples if "topic" in s.labels}
    assert topics and topics <= observed.topics, f"topic labels {topics}"
    declared = {f.name for f in metrics.REGISTRY.collect()}
    assert declared <= {f.name for f in families}, "a declared metric is not served at /metrics"
    totals = {
        f.name: {",".join(s.labels.values()): s.value for s in f.samples if s.value}
        for f in families
        if f.name in ("streams_dead_letters", "streams_llm_requests")
    }
    samples = sum(len(f.samples) for f in families)
    print(f"\nexposition: {len(families)} metric families, {samples} samples; {totals}")
    assert problems == [], "\n".join(problems[:20])
