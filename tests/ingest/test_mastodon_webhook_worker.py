"""Signed status webhooks from the local Mastodon server, through a real worker, the real broker
and the local OpenAI-compatible server: scored once each, edits scored again, redeliveries
answered from the repeat cache, forged and unsigned deliveries refused with nothing published.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from kafka_io import create_topics
from mastodon_worker_io import SECRET, post, read_topic, webhooks_counted

from streams.models.scored import ScoredStatus
from streams.testing.mastodon import Delivery, MastodonServerThread, build_delivery
from streams.testing.mastodon.webhooks import post_once
from streams.testing.workers import WorkerProcess, as_env

pytestmark = [pytest.mark.broker, pytest.mark.timeout(240)]

TEXTS = [
    "Great debate tonight on housing policy.",
    "what an idiot, you absolute moron",
    "New bike lanes on the high street, finally!",
    "ik ga je vinden en je in elkaar slaan",
    "De gemeenteraad stemt vanavond over de begroting.",
]


def deliveries_of(
    mastodon: MastodonServerThread,
) -> list[tuple[Delivery, list[int], dict[str, Any]]]:
    return [
        (delivery, [a.status for a in attempts], json.loads(delivery.body))
        for delivery, attempts in mastodon.server.deliveries
    ]


def scored(values: list[bytes | None]) -> list[ScoredStatus]:
    return [ScoredStatus.model_validate_json(v) for v in values if v is not None]


def test_signed_status_webhooks_are_scored_once_per_version(
    worker_env: dict[str, str], local_llm: Any, tmp_path: Path
) -> None:
    llm = local_llm()
    env = {**worker_env, **as_env(llm.worker_fields()), "STREAMS_CONTENT_CACHE_SIZE": "1000",
           "STREAMS_MASTODON_WEBHOOK_SECRET": SECRET}  # fmt: skip
    bootstrap = env["STREAMS_KAFKA_BOOTSTRAP_SERVERS"]
    create_topics(env)
    with MastodonServerThread() as mastodon, WorkerProcess(env, tmp_path / "w.log") as worker:
        worker.wait_ready()
        url = worker.web_url + "/webhooks/mastodon"
        mastodon.server.register_webhook(url, SECRET, ["status.created", "status.updated"])
        posts = [mastodon.server.new_status(text=text, domain=None) for text in TEXTS]
        for status in posts:
            mastodon.publish_status(status)
        # A remote status makes no webhook (Mastodon fires them for local posts only).
        mastodon.publish_status(mastodon.server.new_status(text="from elsewhere"))
        edit = mastodon.publish_edit(posts[1]["id"], text="what a day, you absolute legend")
        mastodon.webhooks_idle()
        sent = deliveries_of(mastodon)
        assert sorted(e["event"] for _, _, e in sent) == ["status.created"] * 5 + ["status.updated"]
        assert [codes for _, codes, _ in sent] == [[200]] * 6, "every delivery acked at once"

        ids = [s["id"] for s in posts]
        want = {**{i: 1 for i in ids}, edit["id"]: 2}
        found = read_topic(
            bootstrap, env["STREAMS_TOPIC_SCORED"],
            lambda f: all(len(f.get(i, [])) >= n for i, n in want.items()),
        )  # fmt: skip
        assert set(found) == set(ids), "only the local posts are scored"
        first, second = scored(found[edit["id"]])
        assert (first.edited, second.edited) == (False, True), "the edit is scored again"
        assert second.scores != first.scores
        items = llm.stats()["items"]
        assert items == 6

        # Sidekiq's retry of a delivery that was already acked: the same signed body again.
        again = next(d for d, _, e in sent if e["object"]["id"] == ids[0])
        assert asyncio.run(post_once(again)).status == 200
        found = read_topic(bootstrap, env["STREAMS_TOPIC_SCORED"],
                           lambda f: len(f.get(ids[0], [])) >= 2)  # fmt: skip
        original, repeat = scored(found[ids[0]])
        assert repeat.scores == original.scores
        assert llm.stats()["items"] == items, "a redelivery costs no LLM call"

        refused = refuse_unsigned(mastodon, url)
        raw = read_topic(bootstrap, env["STREAMS_TOPIC_RAW"], lambda f: refused[-1] in f)
        assert [i for i in refused[:-1] if i in raw] == [], "a refused delivery published"
        counted = webhooks_counted(worker)
    assert counted[("status.created", "status")] == 7  # five, the redelivery, the last
    assert counted[("status.updated", "status")] == 1
    assert counted[("other", "signature_mismatch")] == 1
    assert counted[("other", "signature_missing")] == 1
    assert counted[("other", "wrong_content_type")] == 1
    assert counted[("other", "too_large")] == 1
    print(f"\nwebhooks: {len(sent)} delivered, 1 redelivered, 4 refused (401 x2, 415, 413); "
          f"LLM items {items}; counted {dict(sorted(counted.items()))}")  # fmt: skip


def refuse_unsigned(mastodon: MastodonServerThread, url: str) -> list[str]:
    """Deliveries that must publish nothing, then a good one; the status ids, good one last."""
    forged_status = mastodon.server.new_status(text="forged", domain=None)
    forged = build_delivery(url, "not-the-secret-of-this-hook", "status.created", forged_status)
    assert asyncio.run(post_once(forged)).status == 401
    unsigned_status = mastodon.server.new_status(text="unsigned", domain=None)
    unsigned = build_delivery(url, SECRET, "status.created", unsigned_status)
    headers = {k: v for k, v in unsigned.headers().items() if k != "X-Hub-Signature"}
    status, answer = post(url, unsigned.body, headers)
    assert status == 401 and b"X-Hub-Signature" in answer
    as_text = {**unsigned.headers(), "Content-Type": "text/plain"}
    assert post(url, unsigned.body, as_text)[0] == 415
    big = build_delivery(url, SECRET, "status.created",
                         {**unsigned_status, "content": "x" * (4 * 1024 * 1024)})  # fmt: skip
    assert post(url, big.body, big.headers())[0] == 413
    last = mastodon.server.new_status(text="signed after the refused ones", domain=None)
    assert asyncio.run(post_once(build_delivery(url, SECRET, "status.created", last))).status == 200
    return [forged_status["id"], unsigned_status["id"], last["id"]]
