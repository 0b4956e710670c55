"""``streams chaos``: the pipeline under faults, then a count of what was lost or duplicated.

One run: a broker of its own (so it can be bounced), the topics, the local LLM server with the
asked fault rate, one or two workers in one consumer group, and a reader of the outputs that
runs throughout. Posts and corrections go out in waves; each planned fault is injected once a
random share of its wave has been handled, so it hits a pipeline at work:

kill      SIGKILL a worker, start it again at once
bounce    stop the broker (SIGTERM or SIGKILL, alternately) and start it on its port and data
pause     SIGSTOP a worker for longer than the session timeout, then SIGCONT: a zombie
takeover  (two workers) SIGKILL one and leave it down until the other has handled everything

Then it drains (every post scored or dead-lettered, the training export complete, or the
timeout) and judges: nothing lost, no post scored with scores the LLM did not give, duplicates
counted, the export equal to the harvest policy's result for the corrections sent.
"""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Final

from streams.chaos.broker import ChaosBroker, OutputReader, produce_records
from streams.chaos.plan import ChaosConfig, PlannedFault, is_ok, plan_faults
from streams.chaos.report import Injected, counts_section, faults_section
from streams.chaos.workers import (
    FAUST_SESSION_TIMEOUT_S,
    Workers,
    progress,
    worker_session_timeout_s,
)
from streams.chaos.workload import (
    SentCorrection,
    attribute_duplicates,
    expected_examples,
    export_mismatches,
    jsonl_missing,
    judge_outputs,
    make_corrections,
    split_waves,
)
from streams.errors import BrokerError, StreamsError
from streams.harvest.export import latest_per_key
from streams.harvest.jsonl_sink import read_jsonl
from streams.kafka.admin import ensure_topics
from streams.kafka.catalog import catalog
from streams.settings import Settings
from streams.testing.corpus import BenchPost, make_posts
from streams.testing.llm_server.process import LocalLLMProcess, client_timeout_s
from streams.testing.measure import Expected
from streams.testing.topics import RunTopics
from streams.testing.workers import worker_env

#: Partitions of every topic of the run: two workers share six raw partitions.
PARTITIONS: Final = 6
#: Worker settings that make a dead member leave the group sooner (the broker's minimum session
#: timeout is 6 s); applied when the settings have them.
RECOVERY_TUNING: Final = {"broker_session_timeout_s": "10"}
#: A correction waits this long for its post's text; longer than any outage of the run.
TEXT_WAIT_S: Final = 300.0
PAUSE_MARGIN_S: Final = 5.0
DUPLICATE_GRACE_S: Final = 3.0
#: The next wave goes out once this share of the current one is handled: always a backlog.
PACE_FRACTION: Final = 0.5


class ChaosInterrupted(StreamsError):
    """The run was asked to stop before it could judge anything."""


class ChaosRun:
    def __init__(
        self, config: ChaosConfig, settings: Settings, log_dir: Path,
        stop: threading.Event | None = None,
    ) -> None:  # fmt: skip
        self.config = config
        #: Set from another thread (the command's, on SIGINT or SIGTERM) to end the run.
        self.stop = stop or threading.Event()
        self.settings = settings
        self.log_dir = log_dir
        self.prefix = f"chaos.{uuid.uuid4().hex[:8]}"
        self.topics = RunTopics.under(self.prefix)
        self.posts: list[BenchPost] = make_posts(config.posts, config.seed)
        self.waves = split_waves(len(self.posts), config.waves)
        self.corrections: list[SentCorrection] = make_corrections(
            self.posts, config.correction_count, config.correction_statuses, self.waves,
            config.seed,
        )  # fmt: skip
        self.expected_examples = expected_examples(self.posts, self.corrections)
        self.plan = plan_faults(config)
        self.injected = Injected()
        self.broker = ChaosBroker(settings.cache_dir, settings.kafka_version, log_dir / "broker")
        self.started = time.monotonic()
        self.inputs_resent = 0
        self.late_faults = 0
        self.scoring: dict[str, str] = {}
        self.tuning: dict[str, str] = {}
        self.reader: OutputReader | None = None
        self.workers: Workers | None = None
        self.session_timeout_s = FAUST_SESSION_TIMEOUT_S
        self.pause_s = 0.0

    # --- helpers ------------------------------------------------------------------------
    def clock(self) -> float:
        return round(time.monotonic() - self.started, 3)

    def env_for(self, slot: int) -> dict[str, str]:
        return worker_env(
            self.broker.bootstrap, f"{self.prefix}.app", self.log_dir / f"worker{slot}-data",
            topics=self.topics, partitions=PARTITIONS,
            fields={
                **self.scoring,
                "broker_commit_interval_s": self.config.commit_interval_s,
                "text_wait_s": TEXT_WAIT_S,
                **self.tuning,
            },
        )  # fmt: skip

    def handled(self, ids: Sequence[str]) -> int:
        assert self.reader is not None
        return self.reader.handled_count(ids)

    def wait_for(self, done: Callable[[], bool], timeout_s: float) -> bool:
        """Poll ``done`` until true or the timeout; crashed workers are restarted meanwhile."""
        assert self.workers is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.stop.is_set():
                raise ChaosInterrupted("interrupted before the run could be judged")
            if done():
                return True
            self.workers.restart_crashed(self.clock)
            time.sleep(0.1)
        return done()

    def wait_handled(self, ids: Sequence[str], share: float) -> bool:
        """Wait until ``share`` of ``ids`` are handled; False when progress stalled too long."""
        target = share * len(ids)
        return self.wait_for(lambda: self.handled(ids) >= target, self.progress_timeout_s())

    def progress_timeout_s(self) -> float:
        return self.pause_s + 180.0

    def wave_ids(self, wave: int) -> list[str]:
        return [self.posts[i].status_id for i in self.waves[wave]]

    # --- the run ------------------------------------------------------------------------
    def setup(self, llm: LocalLLMProcess) -> None:
        progress(f"starting a Kafka broker; logs in {self.log_dir}")
        self.broker.start()
        topic_settings = Settings.model_validate(
            {"topic_partitions": PARTITIONS,
             **self.topics.fields()}
        )  # fmt: skip
        asyncio.run(ensure_topics(self.broker.bootstrap, catalog(topic_settings)))
        config = self.config
        self.scoring = {**llm.worker_fields(), "batch_size": str(config.batch_size)}
        if config.llm_fault_rate:  # a timeout fault need only outlast the client's timeout
            llm.set_faults(hang_s=client_timeout_s(llm.latency_ms) + 1)
        self.tuning = {k: v for k, v in RECOVERY_TUNING.items() if k in Settings.model_fields}
        self.session_timeout_s = worker_session_timeout_s(self.env_for(0))
        self.pause_s = self.session_timeout_s + PAUSE_MARGIN_S
        self.reader = OutputReader(
            self.broker.bootstrap, self.topics.scored, self.topics.dlq, PARTITIONS
        ).start()
        self.workers = Workers(self.env_for, self.log_dir, self.config.workers)
        for slot in range(self.config.workers):
            self.workers.start(slot)
        progress(f"{self.config.workers} worker(s) ready; {len(self.posts)} posts in "
                 f"{len(self.waves)} waves, {len(self.plan)} faults")  # fmt: skip

    def produce_wave(self, wave: int) -> None:
        posts = [(self.posts[i].key, self.posts[i].value) for i in self.waves[wave]]
        corrections = [(c.key, c.value) for c in self.corrections if c.wave == wave]
        bootstrap = self.broker.bootstrap
        self.inputs_resent += asyncio.run(produce_records(bootstrap, self.topics.raw, posts))
        if corrections:
            self.inputs_resent += asyncio.run(
                produce_records(bootstrap, self.topics.corrections, corrections)
            )

    def run_waves(self) -> None:
        faults = {f.wave: f for f in self.plan}
        for wave in range(len(self.waves)):
            self.produce_wave(wave)
            ids = self.wave_ids(wave)
            fault = faults.get(wave)
            if fault is not None:
                if not self.wait_handled(ids, fault.fraction):
                    self.late_faults += 1
                self.inject(fault)
            self.wait_handled(ids, PACE_FRACTION)
            progress(f"wave {wave + 1}/{len(self.waves)} out at {self.clock():.0f} s"
                     + (f", {fault.kind} injected" if fault else ""))  # fmt: skip

    def inject(self, fault: PlannedFault) -> None:
        assert self.workers is not None
        began = time.monotonic()
        record: dict[str, Any] = {"wave": fault.wave, "at_s": self.clock()}
        running = self.workers.running()
        slot = fault.worker if fault.worker in running or not running else running[0]
        if fault.kind == "kill":
            self.workers.kill(slot)
            record |= {"worker": slot, "restart_s": self.workers.start(slot)}
            self.injected.kills.append(record)
        elif fault.kind == "bounce":
            assert fault.variant is not None
            how = self.broker.stop(fault.variant)
            restart_s, port_wait_s = self.broker.start()
            record |= {"variant": fault.variant, "stopped": how, "restart_s": round(restart_s, 3),
                       "port_wait_s": round(port_wait_s, 3)}  # fmt: skip
            record["down_s"] = round(time.monotonic() - began, 3)
            self.injected.bounces.append(record)
        elif fault.kind == "pause":
            self.workers.signal(slot, signal.SIGSTOP)
            time.sleep(self.pause_s)
            self.workers.signal(slot, signal.SIGCONT)
            record |= {"worker": slot, "stopped_s": round(self.pause_s, 3)}
            self.injected.pauses.append(record)
        else:
            record |= self.take_over(slot, fault.wave)
            self.injected.takeover = record
        self.injected.moments.append((began, time.monotonic(), record))

    def take_over(self, slot: int, wave: int) -> dict[str, Any]:
        """Kill one of two workers; the other must handle every post sent so far before the
        killed one comes back."""
        assert self.workers is not None
        sent = [p.status_id for p in self.posts[: self.waves[wave].stop]]
        before = self.handled(sent)
        began = time.monotonic()
        self.workers.kill(slot)
        done = self.wait_for(lambda: self.handled(sent) == len(sent), self.progress_timeout_s())
        took = round(time.monotonic() - began, 3)
        return {
            "worker": slot,
            "handled_by_the_other": self.handled(sent) - before,
            "all_handled_while_down": done,
            "down_until_all_handled_s": took,
            "restart_s": self.workers.start(slot),
        }

    def drain(self) -> tuple[bool, dict[str, bytes | None], float]:
        """Wait until every post is handled and the export is complete and right."""
        all_ids = [p.status_id for p in self.posts]
        began = time.monotonic()
        deadline = began + self.config.timeout_s
        progress(f"draining: {self.handled(all_ids)}/{len(all_ids)} posts handled")
        self.wait_for(lambda: self.handled(all_ids) == len(all_ids), self.config.timeout_s)
        latest: dict[str, bytes | None] = {}
        while True:
            latest = self.read_export()
            if not export_mismatches(self.expected_examples, latest):
                break
            if time.monotonic() > deadline:
                break
            self.wait_for(lambda: False, 2.0)
        drained = self.handled(all_ids) == len(all_ids)
        seconds = time.monotonic() - began
        time.sleep(DUPLICATE_GRACE_S)  # let late duplicates show before counting
        return drained, latest, seconds

    def read_export(self) -> dict[str, bytes | None]:
        try:
            latest, _ = asyncio.run(latest_per_key(self.broker.bootstrap, self.topics.training))
        except BrokerError:
            return {}
        return latest

    def jsonl_lines(self) -> list[dict[str, Any]]:
        lines: list[dict[str, Any]] = []
        for path in sorted(self.log_dir.glob("worker*-data/harvest/harvest_*.jsonl")):
            lines.extend(read_jsonl(path))
        return lines

    def execute(self) -> dict[str, Any]:
        timings: dict[str, float] = {}
        with LocalLLMProcess(self.log_dir / "llm.log", fault_rate=self.config.llm_fault_rate,
                             seed=self.config.seed) as llm:  # fmt: skip
            try:
                self.setup(llm)
                timings["setup_s"] = self.clock()
                self.run_waves()
                timings["waves_and_faults_s"] = round(self.clock() - timings["setup_s"], 3)
                drained, latest, drain_s = self.drain()
                timings["drain_s"] = round(drain_s, 3)
                llm_stats = llm.stats()
            finally:
                exit_codes = self.workers.stop_all() if self.workers else []
                if self.reader is not None:
                    self.reader.stop()
                self.broker.shutdown()
        timings["total_s"] = self.clock()
        assert self.reader is not None and self.workers is not None
        return self.report(drained, latest, timings, llm_stats, exit_codes)

    def report(
        self, drained: bool, latest: dict[str, bytes | None], timings: dict[str, float],
        llm_stats: Mapping[str, Any], exit_codes: list[int | None],
    ) -> dict[str, Any]:  # fmt: skip
        assert self.reader is not None and self.workers is not None
        expected = {p.status_id: Expected(0, p.expected_scores()) for p in self.posts}
        verdict = judge_outputs(self.reader.outputs(), expected, self.topics.scored)
        wrong_export = export_mismatches(self.expected_examples, latest)
        missing_lines = jsonl_missing(self.expected_examples, self.jsonl_lines())
        for began, back, record in self.injected.moments:
            resumed = self.reader.first_handled_after(back)
            record["resumed_s"] = None if resumed is None else round(resumed - began, 3)
        arrivals = [
            ((o.record.key or b"").decode(errors="replace"), at)
            for o, at in self.reader.timed_outputs()
            if o.stage != "harvest"
        ]
        per_fault, before_faults = attribute_duplicates(
            arrivals, [began for began, _, _ in self.injected.moments]
        )
        for (_, _, record), duplicates in zip(self.injected.moments, per_fault, strict=True):
            record["duplicates"] = duplicates
        took_over = self.injected.takeover is None or bool(
            self.injected.takeover["all_handled_while_down"]
        )
        counts = counts_section(
            verdict, before_faults, self.inputs_resent, len(self.corrections),
            len(self.expected_examples), latest, len(wrong_export), len(missing_lines),
        )  # fmt: skip
        handled = verdict.scored + verdict.dead_lettered
        timings["posts_per_s"] = round(handled / timings["total_s"], 1)
        return {
            "config": {
                **asdict(self.config),
                "corrections": len(self.corrections),
                "corrected_posts": len(self.expected_examples),
                "waves": len(self.waves),
                "partitions": PARTITIONS,
                "session_timeout_s": self.session_timeout_s,
                "worker_tuning": self.tuning,
                "text_wait_s": TEXT_WAIT_S,
                "llm_timeout_s": float(self.scoring.get("openai_timeout_s", 0)),
                "cpus": os.cpu_count(),
                "log_dir": str(self.log_dir),
            },
            "faults": faults_section(
                self.injected, self.workers.crashes, self.late_faults, llm_stats,
                self.reader.restarts,
            ),
            "counts": counts,
            "samples": {
                "lost": verdict.lost[:10],
                "export_mismatches": wrong_export[:10],
                "jsonl_missing": missing_lines[:10],
            },
            "timings": timings,
            "drained": drained,
            "worker_exit_codes": exit_codes,
            "ok": is_ok(verdict, len(wrong_export), len(missing_lines), took_over),
        }


def run_chaos(
    config: ChaosConfig, settings: Settings, stop: threading.Event | None = None
) -> dict[str, Any]:
    """Run the workload under the planned faults and return the report.

    Setting ``stop`` ends the run at its next wait with :class:`ChaosInterrupted`, after
    the broker, the workers and the LLM server it started are stopped.
    """
    log_dir = Path(tempfile.mkdtemp(prefix="streams-chaos-"))
    try:
        return ChaosRun(config, settings, log_dir, stop).execute()
    except StreamsError as exc:
        raise StreamsError(f"{exc} (the run's logs are in {log_dir})") from exc
