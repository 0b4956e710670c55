"""The action agent through the real broker, real worker processes and the local Mastodon
server: reports filed at most once each, dry runs, the stop switch, refusals."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import http.server
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from action_harness import (
    Post,
    action_fields,
    all_actions,
    api,
    expected_report,
    latest_actions,
    make_posts,
    wait_until,
)
from kafka_io import create_topics, produce_statuses, read_until

from streams.kafka.launcher import free_port
from streams.testing.mastodon import MastodonServerThread
from streams.testing.topics import RunTopics
from streams.testing.workers import WorkerProcess

pytestmark = pytest.mark.broker


@pytest.fixture
def mastodon() -> Iterator[MastodonServerThread]:
    with MastodonServerThread() as server:
        yield server


def scored_ids(bootstrap: str, topics: RunTopics) -> set[str]:
    records = asyncio.run(read_until(bootstrap, [topics.scored], lambda _: False, 2))
    return {(r.key or b"").decode() for r in records if r.value}


def reports_by_status(server: MastodonServerThread) -> Counter[str]:
    with server.server.state.lock:
        return Counter(s for r in server.server.state.reports.values() for s in r.status_ids)


def check_reports(server: MastodonServerThread, posts: list[Post]) -> None:
    """Every report names the post's author, the post alone, the right category and rules,
    and no word of the post."""
    by_id = {p.status_id: p for p in posts}
    with server.server.state.lock:
        reports = list(server.server.state.reports.values())
    for report in reports:
        (status_id,) = report.status_ids
        post = by_id[status_id]
        assert post.flagged, f"unflagged post {status_id} was reported"
        assert report.target_account_id == post.account_id
        category, rule_ids = expected_report(post)
        assert (report.category, tuple(report.rule_ids or ())) == (category, rule_ids)
        words = [w for w in post.text.replace("(", " ").split() if len(w) > 3]
        assert not any(w in report.comment for w in words), report.comment


def test_dry_run_plans_every_flagged_post_once_and_calls_nothing(
    kafka_bootstrap: str, worker_env: dict[str, str], run_topics: RunTopics, tmp_path: Path,
    mastodon: MastodonServerThread,
) -> None:  # fmt: skip
    posts = make_posts(mastodon, 60)
    flagged = {p.status_id for p in posts if p.flagged}
    env = {**worker_env, **action_fields(mastodon, "dry-run")}
    create_topics(env)
    statuses = [p.status for p in posts]
    produce_statuses(kafka_bootstrap, run_topics.raw, statuses + statuses)
    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        wait_until(
            "every flagged post planned",
            lambda: set(latest_actions(kafka_bootstrap, run_topics.actions, 1)) >= flagged,
            120, worker.log_tail,
        )  # fmt: skip
        time.sleep(2)  # room for a duplicate to show
        status = api(worker.web_url, "/api/v1/actions/status")
    actions = all_actions(kafka_bootstrap, run_topics.actions)
    print(f"\ndry run: {len(posts)} posts, {len(flagged)} flagged, {len(actions)} planned")
    assert Counter(a.status_id for a in actions) == Counter(flagged)
    assert {(a.state, a.mode) for a in actions} == {("planned", "dry-run")}
    assert [c for c in mastodon.server.rest.calls if c.endpoint == "reports"] == []
    assert status["actions"] == {"dry-run:planned": len(flagged)}
    assert status["mode"] == "dry-run" and status["switch"]["state"] == "running"


def group_done(bootstrap: str, group: str, topic: str) -> bool:
    """Whether ``group`` has committed the end of every partition of ``topic``."""

    async def check() -> bool:
        from aiokafka import AIOKafkaConsumer, TopicPartition
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
        await admin.start()
        await consumer.start()
        try:
            committed = await admin.list_consumer_group_offsets(group)
            parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
            if not parts:
                parts = [tp for tp in committed if tp.topic == topic]
            ends = await consumer.end_offsets(parts)
            return bool(ends) and all(
                committed.get(tp) is not None and committed[tp].offset >= end
                for tp, end in ends.items()
            )
        finally:
            await consumer.stop()
            await admin.close()

    return asyncio.run(check())


def test_live_reports_every_flagged_post_once_across_kills_and_repeated_scores(
    kafka_bootstrap: str, worker_env: dict[str, str], run_topics: RunTopics, tmp_path: Path,
    mastodon: MastodonServerThread,
) -> None:  # fmt: skip
    posts = make_posts(mastodon, 300)
    flagged = {p.status_id for p in posts if p.flagged}
    env = {**worker_env, **action_fields(mastodon, "live")}
    group = env["STREAMS_APP_ID"] + "-actions"
    create_topics(env)
    statuses = [p.status for p in posts]
    produce_statuses(kafka_bootstrap, run_topics.raw, statuses)
    worker = WorkerProcess(env, tmp_path / "worker0.log").start()
    logs: list[WorkerProcess] = [worker]
    try:
        for kill, share in enumerate((0.2, 0.45, 0.7), start=1):
            wait_until(
                f"{share:.0%} of the reports", lambda s=share: sum(  # type: ignore[misc]
                    reports_by_status(mastodon).values()) >= s * len(flagged),
                120, worker.log_tail,
            )  # fmt: skip
            worker.kill()
            if kill == 1:
                # Every post scored a second time: each scored record is published twice.
                produce_statuses(kafka_bootstrap, run_topics.raw, statuses)
            worker = WorkerProcess(env, tmp_path / f"worker{kill}.log").start()
            logs.append(worker)
        wait_until(
            "the action agent through the whole scored topic",
            lambda: group_done(kafka_bootstrap, group, run_topics.scored)
            and len(scored_ids(kafka_bootstrap, run_topics)) == len(posts),
            180, worker.log_tail,
        )  # fmt: skip
        time.sleep(1)
    finally:
        code = worker.stop()
    assert code == 0, worker.log_tail()
    scored = asyncio.run(read_until(kafka_bootstrap, [run_topics.scored], lambda _: False, 2))
    per_post = Counter((r.key or b"").decode() for r in scored if r.value)
    reports = reports_by_status(mastodon)
    latest = latest_actions(kafka_bootstrap, run_topics.actions)
    missed = flagged - set(reports)
    duplicates = sum(n - 1 for n in reports.values())
    interrupted = {s for s, a in latest.items() if a.reason and a.reason.startswith("interr")}
    history = all_actions(kafka_bootstrap, run_topics.actions)
    abandoned = sum(1 for a in history if a.reason and a.reason.startswith("abandoned"))
    print(
        f"\nlive: {len(posts)} posts, N={len(flagged)} flagged, {len(reports)} reported, "
        f"{duplicates} twice, {len(missed)} missed (plans cut off by a kill: "
        f"{len(interrupted)}, of which filed {len(interrupted & set(reports))}; plans taken "
        f"over after a kill: {abandoned}); "
        f"scored records per post: {min(per_post.values())}..{max(per_post.values())}"
    )
    assert min(per_post.values()) >= 2, "each post scored twice"
    assert duplicates == 0
    assert set(reports) <= flagged
    check_reports(mastodon, posts)
    assert missed <= interrupted, "a flagged post neither reported nor counted as missed"
    assert len(interrupted) <= 3, "at most one action in flight per kill"
    filed = {r.id: r for r in mastodon.server.state.reports.values()}
    for status_id in set(reports) - interrupted:
        action = latest[status_id]
        assert action.state == "done" and action.report_id in filed
        assert filed[action.report_id].status_ids == [status_id]


def run_command(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "actions", *args],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def last_report_after(server: MastodonServerThread, moment: float) -> float | None:
    """Seconds from ``moment`` to the last report filed after it, if any was."""
    with server.server.state.lock:
        times = [r.created_at.timestamp() for r in server.server.state.reports.values()]
    late = [t - moment for t in times if t > moment]
    return max(late) if late else None


def test_the_stop_switch_halts_within_a_second_holds_across_a_restart_and_spares_scoring(
    kafka_bootstrap: str, worker_env: dict[str, str], run_topics: RunTopics, tmp_path: Path,
    mastodon: MastodonServerThread,
) -> None:  # fmt: skip
    posts, later = make_posts(mastodon, 240), make_posts(mastodon, 60)
    mastodon.server.faults.set_latency("reports", 0.1)  # a busy instance: reports keep coming
    env = {**worker_env, **action_fields(mastodon, "live")}
    create_topics(env)
    produce_statuses(kafka_bootstrap, run_topics.raw, [p.status for p in posts])
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        wait_until("the first reports", lambda: len(reports_by_status(mastodon)) >= 8, 120,
                   worker.log_tail)  # fmt: skip
        stopped_at = time.time()
        api(worker.web_url, "/api/v1/actions/stop", "POST", {"reason": "checking the policy"})
        time.sleep(2)
        http_latency = last_report_after(mastodon, stopped_at)
        frozen = reports_by_status(mastodon)

        # A crash while stopped: the switch holds after the restart, and scoring goes on.
        worker.kill()
        worker = WorkerProcess(env, tmp_path / "worker-restarted.log").start()
        wait_until("the restarted agent", lambda: _ready(worker), 60, worker.log_tail)
        produce_statuses(kafka_bootstrap, run_topics.raw, [p.status for p in later])
        wait_until(
            "every post scored while the actions are stopped",
            lambda: len(scored_ids(kafka_bootstrap, run_topics)) == len(posts) + len(later),
            120, worker.log_tail,
        )  # fmt: skip
        time.sleep(2)
        assert reports_by_status(mastodon) == frozen, "a report was filed while stopped"
        status = json.loads(run_command(env, "status"))
        assert status["switch"]["state"] == "stopped"
        assert status["switch"]["reason"] == "checking the policy"

        # Through the control topic, as another worker or the command flips it.
        run_command(env, "resume")
        wait_until("reports again", lambda: len(reports_by_status(mastodon)) >= len(frozen) + 5,
                   60, worker.log_tail)  # fmt: skip
        out = run_command(env, "stop", "--reason", "again")
        command_stopped_at = _changed_at(out)
        time.sleep(2)
        command_latency = last_report_after(mastodon, command_stopped_at)
        paused = reports_by_status(mastodon)
        api(worker.web_url, "/api/v1/actions/resume", "POST")
        flagged = {p.status_id for p in posts + later if p.flagged}
        wait_until("every flagged post reported", lambda: set(reports_by_status(mastodon)) >=
                   flagged, 120, worker.log_tail)  # fmt: skip
        time.sleep(1)
    finally:
        worker.stop()
    reports = reports_by_status(mastodon)
    print(
        f"\nstop switch: {len(frozen)} reports when it took hold; the last one after the HTTP "
        f"stop: {_ms(http_latency)}, after the command's: {_ms(command_latency)}; "
        f"{len(paused)} at the second stop; N={len(flagged)}, {len(reports)} reported, "
        f"{sum(n - 1 for n in reports.values())} twice"
    )
    for latency in (http_latency, command_latency):
        assert latency is None or latency < 1.0
    assert set(reports) == flagged and max(reports.values()) == 1
    check_reports(mastodon, posts + later)


def _ready(worker: WorkerProcess) -> bool:
    try:
        return bool(api(worker.web_url, "/api/v1/actions/status")["ready"])
    except OSError:
        return False


def _changed_at(output: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(output.strip().rsplit(" ", 1)[-1]).timestamp()


def _ms(seconds: float | None) -> str:
    return "none" if seconds is None else f"{seconds * 1000:.0f} ms"


def test_a_refused_token_halts_the_actions_not_the_scoring_until_it_is_fixed(
    kafka_bootstrap: str, worker_env: dict[str, str], run_topics: RunTopics, tmp_path: Path,
    mastodon: MastodonServerThread,
) -> None:  # fmt: skip
    posts = make_posts(mastodon, 60)
    flagged = {p.status_id for p in posts if p.flagged}
    token = mastodon.server.add_token("read")  # no write:reports
    env = {**worker_env, **action_fields(mastodon, "live", mastodon_access_token=token.token)}
    create_topics(env)
    produce_statuses(kafka_bootstrap, run_topics.raw, [p.status for p in posts])
    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        wait_until(
            "the agent halted and every post scored",
            lambda: _ready(worker)
            and api(worker.web_url, "/api/v1/actions/status")["halted"] is not None
            and len(scored_ids(kafka_bootstrap, run_topics)) == len(posts),
            120, worker.log_tail,
        )  # fmt: skip
        halted = api(worker.web_url, "/api/v1/actions/status")["halted"]
        calls = [c.status for c in mastodon.server.rest.calls if c.endpoint == "reports"]
        with urllib.request.urlopen(worker.web_url + "/metrics", timeout=5) as page:
            exposition = page.read().decode()
        assert 'streams_actions_halted{reason="error"} 1.0' in exposition
        # The operator grants the scope and resumes: the refused post is tried again.
        with mastodon.server.state.lock:
            mastodon.server.state.tokens[token.token] = dataclasses.replace(
                token, scopes=frozenset({"write:reports"})
            )
        api(worker.web_url, "/api/v1/actions/resume", "POST", {"reason": "scope granted"})
        wait_until(
            "every flagged post reported",
            lambda: set(reports_by_status(mastodon)) == flagged,
            60,
            worker.log_tail,
        )
    print(f"\nrefused: halted after {calls} with {halted!r}")
    assert calls == [403] and "write:reports" in halted
    assert max(reports_by_status(mastodon).values()) == 1


class _Platform(http.server.BaseHTTPRequestHandler):
    """Another platform's webhook endpoint, checking signatures by hand."""

    secret = b""
    received: ClassVar[list[tuple[str, bool]]] = []  # (action id, signature valid)
    statuses: ClassVar[Counter[str]] = Counter()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        timestamp = self.headers["X-Streams-Timestamp"]
        expected = (
            "sha256="
            + hmac.new(self.secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        )
        valid = hmac.compare_digest(expected, self.headers["X-Streams-Signature"])
        fresh = abs(time.time() - int(timestamp)) <= 300
        action = json.loads(body)
        first = action["action_id"] not in {a for a, _ in self.received}
        self.received.append((action["action_id"], valid and fresh))
        if valid and fresh and first:
            self.statuses[action["status_id"]] += 1
        self.send_response(200 if valid and fresh else 401)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_the_webhook_sink_delivers_every_flagged_post_once_signed(
    kafka_bootstrap: str, worker_env: dict[str, str], run_topics: RunTopics, tmp_path: Path,
    mastodon: MastodonServerThread,
) -> None:  # fmt: skip
    posts = make_posts(mastodon, 60)
    flagged = {p.status_id for p in posts if p.flagged}
    secret = "platform-secret-0123456789abcdef"
    _Platform.secret, _Platform.received, _Platform.statuses = secret.encode(), [], Counter()
    platform = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Platform)
    threading.Thread(target=platform.serve_forever, daemon=True).start()
    env = {**worker_env, **action_fields(
        mastodon, "live", actions_sink="webhook", actions_webhook_secret=secret,
        actions_webhook_url=f"http://127.0.0.1:{platform.server_address[1]}/streams",
    )}  # fmt: skip
    create_topics(env)
    produce_statuses(kafka_bootstrap, run_topics.raw, [p.status for p in posts])
    try:
        with WorkerProcess(env, tmp_path / "worker.log") as worker:
            wait_until("every flagged post delivered", lambda: set(_Platform.statuses) ==
                       flagged, 120, worker.log_tail)  # fmt: skip
            time.sleep(1)
    finally:
        platform.shutdown()
    latest = latest_actions(kafka_bootstrap, run_topics.actions)
    print(f"\nwebhook: N={len(flagged)}, {len(_Platform.received)} deliveries")
    assert all(valid for _, valid in _Platform.received)
    assert Counter(a for a, _ in _Platform.received) == Counter({
        latest[s].action_id: 1 for s in flagged})  # fmt: skip
    assert {a.state for a in latest.values()} == {"done"} and set(latest) == flagged
    assert [c for c in mastodon.server.rest.calls if c.endpoint == "reports"] == []


def test_two_workers_share_the_posts_through_rebalances_and_report_each_once(
    kafka_bootstrap: str, worker_env: dict[str, str], run_topics: RunTopics, tmp_path: Path,
    mastodon: MastodonServerThread,
) -> None:  # fmt: skip
    posts = make_posts(mastodon, 180)
    flagged = {p.status_id for p in posts if p.flagged}
    mastodon.server.faults.set_latency("reports", 0.25)  # so the rebalances land mid-stream
    env = {**worker_env, **action_fields(mastodon, "live")}
    create_topics(env)
    statuses = [p.status for p in posts]
    produce_statuses(kafka_bootstrap, run_topics.raw, statuses + statuses)
    first = WorkerProcess(env, tmp_path / "first.log").start()
    second_env = {
        **env,
        "STREAMS_WEB_PORT": str(free_port()),
        "STREAMS_DATA_DIR": str(tmp_path / "second-data"),
        # Its own bot account, to tell whose reports are whose.
        "STREAMS_MASTODON_ACCESS_TOKEN": mastodon.server.add_token("write:reports").token,
    }
    second = WorkerProcess(second_env, tmp_path / "second.log")
    try:
        wait_until("a fifth of the reports", lambda: len(reports_by_status(mastodon)) >= len(
            flagged) / 5, 120, first.log_tail)  # fmt: skip
        second.start()  # a rebalance: partitions move while both are reporting
        wait_until("three fifths", lambda: len(reports_by_status(mastodon)) >= 3 * len(
            flagged) / 5, 120, second.log_tail)  # fmt: skip
        assert first.stop() == 0  # another: the leaving worker commits what it has done
        wait_until(
            "every flagged post reported",
            lambda: set(reports_by_status(mastodon)) == flagged,
            120,
            second.log_tail,
        )
        time.sleep(2)
    finally:
        first.stop()
        second.stop()
    reports = reports_by_status(mastodon)
    with mastodon.server.state.lock:
        reporters = Counter(r.account_id for r in mastodon.server.state.reports.values())
    history = all_actions(kafka_bootstrap, run_topics.actions)
    lost = sum(1 for a in history if a.state == "planned") - len(flagged)
    print(
        f"\ntwo workers: N={len(flagged)}, {len(reports)} reported, "
        f"{sum(n - 1 for n in reports.values())} twice, "
        f"{max(lost, 0)} extra plans (claims lost or taken over); by worker "
        f"{sorted(reporters.values())}"
    )
    assert len(reporters) == 2, "both workers reported"
    twice = {s for s, n in reports.items() if n > 1}
    assert not twice, "\n".join(
        f"{a.status_id} {a.state} {a.action_id[:8]} {a.planned_at} {a.reason}"
        for a in history
        if a.status_id in twice
    )
    assert set(reports) == flagged
    check_reports(mastodon, posts)
