"""The HTTP API of a real worker refuses what it must: no token, a wrong one, a token limited
to other sources, another content type, an oversized body; Faust's table and router views are
not served."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from kafka_io import create_topics

from streams.testing.workers import WorkerProcess

pytestmark = pytest.mark.broker

ADMIN = "admin-token-0123456789abcdef"
BRIDGE = "bridge-token-0123456789abcdef"
GOOD = {"correction_id": "sec-1", "status_id": "77", "feedback_type": "false_positive",
        "source": "admin_override", "timestamp": "2026-11-02T10:00:00Z"}  # fmt: skip


def call(
    url: str, body: bytes | None = None, *, token: str | None = None,
    content_type: str = "application/json",
) -> tuple[int, bytes]:  # fmt: skip
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, headers=headers,
                                     method="POST" if body is not None else "GET")  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_the_api_refuses_what_it_must(worker_env: dict[str, str], tmp_path: Path) -> None:
    env = {**worker_env, "STREAMS_CLASSIFIER_ENABLED": "false",
           "STREAMS_API_TOKEN": f"{ADMIN},{BRIDGE}:user_report+appeal"}  # fmt: skip
    create_topics(env)
    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        worker.wait_ready()
        feedback = worker.web_url + "/api/v1/feedback"
        body = json.dumps(GOOD).encode()
        assert call(feedback, body)[0] == 401
        assert call(feedback, body, token=ADMIN + "x")[0] == 401
        assert call(worker.web_url + "/api/feedback/summary")[0] == 401
        status, answer = call(feedback, body, token=ADMIN, content_type="text/plain")
        assert status == 415, answer
        big = json.dumps({**GOOD, "reason": "x" * 70_000}).encode()
        assert call(feedback, big, token=ADMIN)[0] == 413
        status, answer = call(feedback, body, token=BRIDGE)
        assert status == 403 and b"admin_override" in answer
        report = json.dumps({**GOOD, "correction_id": "sec-2", "source": "user_report"}).encode()
        assert call(feedback, report, token=BRIDGE)[0] == 202
        future = json.dumps({**GOOD, "timestamp": "9999-01-01T00:00:00Z"}).encode()
        status, answer = call(feedback, future, token=ADMIN)
        assert status == 422 and b"future" in answer
        odd = json.dumps({**GOOD, "status_id": "4 2"}).encode()
        assert call(feedback, odd, token=ADMIN)[0] == 422
        assert call(feedback, body, token=ADMIN)[0] == 202
        assert call(worker.web_url + "/api/feedback/summary", token=ADMIN)[0] == 200
        for path in ("/table/harvest-texts/77/", "/table/", "/router/", "/graph/", "/stats/"):
            assert call(worker.web_url + path)[0] == 404, path
        assert call(worker.web_url + "/metrics")[0] == 200  # open, and carries no content


def test_without_a_token_or_secret_configured_the_api_and_webhooks_are_closed(
    worker_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**worker_env, "STREAMS_CLASSIFIER_ENABLED": "false"}
    create_topics(env)
    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        worker.wait_ready()
        status, answer = call(
            worker.web_url + "/api/v1/feedback", json.dumps(GOOD).encode(), token=ADMIN
        )
        assert status == 403 and b"STREAMS_API_TOKEN" in answer
        # Webhooks are closed too, with a 5xx: Mastodon retries those until the secret is set.
        status, answer = call(worker.web_url + "/webhooks/mastodon", b'{"event": "x"}')
        assert status == 503 and b"STREAMS_MASTODON_WEBHOOK_SECRET" in answer
