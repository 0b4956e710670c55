"""What the action agent's broker tests share: posts on the local Mastodon server, the
worker's settings, and reading the actions topic back."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kafka_io import BENIGN, TOXIC, Read, read_until

from streams.actions.config import policy_from_settings
from streams.actions.policy import Plan, ScoredPost, decide
from streams.llm.lexicon import score_text
from streams.models.actions import ActionRecord
from streams.models.status import StatusToScore, parse_raw_record
from streams.settings import Settings
from streams.testing.mastodon import MastodonServerThread
from streams.testing.workers import as_env

API_TOKEN = "test-api-token-0123456789abcdef"
RULES = {"1": ["racism", "hate_speech"]}


@dataclass(frozen=True)
class Post:
    status: dict[str, Any]
    text: str
    flagged: bool

    @property
    def status_id(self) -> str:
        return str(self.status["id"])

    @property
    def account_id(self) -> str:
        return str(self.status["account"]["id"])


def make_posts(server: MastodonServerThread, n: int, toxic_every: int = 3) -> list[Post]:
    """``n`` posts by ten authors, stored on the instance; one in ``toxic_every`` has a toxic
    text (of which the lexicon flags most, not all)."""
    posts = []
    for i in range(n):
        texts = TOXIC if i % toxic_every == 0 else BENIGN
        text = f"{texts[(i // toxic_every) % len(texts)]} (#{i})"
        status = server.server.new_status(username=f"author{i % 10}", text=text, language="nl")
        server.server.add_status(status)
        posts.append(Post(status, text, _flagged(status)))
    return posts


def _flagged(status: dict[str, Any]) -> bool:
    parsed = parse_raw_record(str(status["id"]).encode(), json.dumps(status).encode())
    assert isinstance(parsed, StatusToScore)
    return max(score_text(parsed.text).values()) >= Settings().flag_threshold


def expected_report(post: Post) -> tuple[str, tuple[str, ...]]:
    """The category and rule ids the policy must give ``post``'s report."""
    scored = ScoredPost.model_validate({
        "schema_version": 3, "status_id": post.status_id, "account_id": post.account_id,
        "language": "nl", "scores": score_text(_text(post)), "backend": "lexicon",
        "model": "lexicon", "prompt_version": "v",
    })  # fmt: skip
    decision = decide(policy_from_settings(Settings(mastodon_rule_categories=RULES)), scored)
    assert isinstance(decision, Plan), decision
    return decision.report_category, decision.rule_ids


def _text(post: Post) -> str:
    parsed = parse_raw_record(post.status_id.encode(), json.dumps(post.status).encode())
    assert isinstance(parsed, StatusToScore)
    return parsed.text


def action_fields(server: MastodonServerThread, mode: str, **more: object) -> dict[str, str]:
    """The worker settings of an action agent filing reports on ``server``."""
    token = server.server.add_token("write:reports").token
    return as_env({
        "scoring_backend": "lexicon",
        "harvester_enabled": False,
        "actions_mode": mode,
        "actions_start_from": "earliest",
        "actions_backoff_s": 0.2,
        # A claim cut off by a kill is taken over after this long (20 s by default).
        "actions_claim_timeout_s": 3,
        "mastodon_base_url": server.base_url,
        "mastodon_access_token": token,
        "mastodon_rule_categories": json.dumps(RULES),
        "api_token": API_TOKEN,
        **more,
    })  # fmt: skip


def latest_actions(bootstrap: str, topic: str, timeout_s: float = 3) -> dict[str, ActionRecord]:
    """The latest action record per status on ``topic`` (as compaction keeps them)."""
    records = asyncio.run(read_until(bootstrap, [topic], lambda _: False, timeout_s))
    return _latest(records)


def all_actions(bootstrap: str, topic: str, timeout_s: float = 3) -> list[ActionRecord]:
    records = asyncio.run(read_until(bootstrap, [topic], lambda _: False, timeout_s))
    return [ActionRecord.model_validate_json(r.value) for r in records if r.value]


def _latest(records: list[Read]) -> dict[str, ActionRecord]:
    latest: dict[str, ActionRecord] = {}
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        if record.value:
            action = ActionRecord.model_validate_json(record.value)
            latest[action.status_id] = action
    return latest


def api(url: str, path: str, method: str = "GET", body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url + path, data=data, method=method,
        headers={"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def wait_until(what: str, done: Callable[[], bool], timeout_s: float, logs: Callable[[], str]
               ) -> None:  # fmt: skip
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s:.0f} s\n{logs()}")
        time.sleep(0.2)
