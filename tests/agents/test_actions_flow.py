"""The action agent through the real broker, real worker processes and the local Mastodon
server: reports filed at most once each, dry runs, the stop switch, refusals."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

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
from kafka_io import Read, create_topics, produce_statuses, read_until

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
