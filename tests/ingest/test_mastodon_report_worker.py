"""Reports filed on the local Mastodon server and resolved by its moderators, delivered as signed
``report.created`` / ``report.updated`` webhooks to a real worker: the corrections they become
and the training examples the real harvester builds from them.

Four reported posts, one per way a report can end:

* ``confirmed``: rule 1 (mapped to hate_speech), the account suspended -> the post is labelled
  hate_speech by the moderator;
* ``dismissed``: rule 1, resolved with no sanction -> the moderator says it violates nothing;
* ``mixed``: one report with rule 1 still open, one with rule 3 (unmapped) confirmed with a
  silence -> the confirmation labels nothing, the open report still decides;
* ``unmapped``: rule 3 only, confirmed with a suspension -> no correction, no example.
"""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kafka_io import create_topics
from mastodon_worker_io import SECRET, read_topic, webhooks_counted

from streams.harvest.jsonl_sink import ReadReport, read_jsonl
from streams.harvest.policy import build_training_example
from streams.models.corrections import Correction, TrainingExample
from streams.testing.mastodon import MastodonServerThread, build_delivery
from streams.testing.workers import WorkerProcess

pytestmark = [pytest.mark.broker, pytest.mark.timeout(180)]

CASES = ("confirmed", "dismissed", "mixed", "unmapped")


def file_report(mastodon: MastodonServerThread, token: str, status: dict[str, Any],
                rule: str, comment: str = "") -> str:  # fmt: skip
    body = {"account_id": status["account"]["id"], "status_ids": [status["id"]],
            "rule_ids": [rule], "comment": comment}  # fmt: skip
    request = urllib.request.Request(
        mastodon.base_url + "/api/v1/reports", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:
        report_id: str = json.loads(response.read())["id"]
    return report_id


def moderate(mastodon: MastodonServerThread, worker_url: str) -> dict[str, dict[str, Any]]:
    """File and resolve the reports of the four cases; the reported statuses by case."""
    server = mastodon.server
    server.register_webhook(worker_url, SECRET, ["report.created", "report.updated"])
    reporter = server.add_token("write:reports")
    moderator = server.state.create_account("moderator")
    statuses = {case: server.add_status(server.new_status(
        text=f"the {case} post, what an idiot", username=case, domain=f"{case}.example",
    )) for case in CASES}  # fmt: skip
    reports = {
        "confirmed": file_report(mastodon, reporter.token, statuses["confirmed"], "1", "hateful"),
        "dismissed": file_report(mastodon, reporter.token, statuses["dismissed"], "1"),
        "mixed_open": file_report(mastodon, reporter.token, statuses["mixed"], "1"),
        "mixed": file_report(mastodon, reporter.token, statuses["mixed"], "3"),
        "unmapped": file_report(mastodon, reporter.token, statuses["unmapped"], "3"),
    }
    mastodon.webhooks_idle()
    # Sanctions are what a resolution is read by (the entity names no action).
    for case, sanction in (("confirmed", "suspended"), ("mixed", "silenced"),
                           ("unmapped", "suspended")):  # fmt: skip
        setattr(server.state.flags_of(statuses[case]["account"]["id"]), sanction, True)
    mastodon.update_report(reports["mixed_open"], assigned_account_id=moderator["id"])
    for case in ("confirmed", "dismissed", "mixed", "unmapped"):
        mastodon.update_report(reports[case], action_taken_at=datetime.now(UTC),
                               action_taken_by_account_id=moderator["id"])  # fmt: skip
    mastodon.webhooks_idle()
    return {case: {"status": statuses[case], "reporter": reporter.account_id,
                   "moderator": moderator["id"]} for case in CASES}  # fmt: skip


def ones(example: TrainingExample) -> list[str]:
    return [category.value for category, label in example.labels.items() if label]


def test_reports_and_their_resolutions_become_corrections_and_examples(
    worker_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**worker_env, "STREAMS_CLASSIFIER_ENABLED": "false",
           "STREAMS_MASTODON_WEBHOOK_SECRET": SECRET,
           "STREAMS_MASTODON_RULE_CATEGORIES": '{"1": ["hate_speech"]}',
           "STREAMS_HARVEST_DIR": str(tmp_path / "harvest"),
           "STREAMS_HARVEST_FLUSH_INTERVAL_S": "0.2"}  # fmt: skip
    bootstrap = env["STREAMS_KAFKA_BOOTSTRAP_SERVERS"]
    create_topics(env)
    with MastodonServerThread() as mastodon, WorkerProcess(env, tmp_path / "w.log") as worker:
        worker.wait_ready()
        url = worker.web_url + "/webhooks/mastodon"
        cases = moderate(mastodon, url)
        answers = [(json.loads(d.body)["event"], [a.status for a in attempts])
                   for d, attempts in mastodon.server.deliveries]  # fmt: skip
        assert [codes for _, codes in answers] == [[200]] * 10, answers
        account = build_delivery(url, SECRET, "account.created", {"id": "1", "username": "new"})
        assert account.url == url and post_account(account) == 200
        ids = {case: c["status"]["id"] for case, c in cases.items()}

        def decided(found: dict[str, list[bytes | None]]) -> bool:
            latest = {k: TrainingExample.model_validate_json(v[-1]) for k, v in found.items()
                      if v and v[-1] is not None}  # fmt: skip
            want = {"confirmed": "admin_override", "dismissed": "admin_override",
                    "mixed": "user_report"}  # fmt: skip
            return all(ids[c] in latest and latest[ids[c]].decided_by == s for c, s in want.items())

        training = read_topic(bootstrap, env["STREAMS_TOPIC_TRAINING"], decided)
        corrections = read_topic(bootstrap, env["STREAMS_TOPIC_CORRECTIONS"],
                                 lambda f: len(f) >= 3)  # fmt: skip
        counted = webhooks_counted(worker)
    check_corrections(cases, corrections)
    examples = check_examples(ids, corrections, training)
    assert counted[("report.created", "reported")] == 3
    assert counted[("report.created", "reported_unmapped")] == 2
    assert counted[("report.updated", "open")] == 1
    assert counted[("report.updated", "confirmed")] == 1
    assert counted[("report.updated", "dismissed")] == 1
    assert counted[("report.updated", "confirmed_unmapped")] == 2
    assert counted[("account.created", "account")] == 1
    lines = check_jsonl(tmp_path / "harvest", examples)
    print(
        f"\nreports: 5 filed, 5 updates; corrections {sum(map(len, corrections.values()))}; "
        f"examples {len(examples)} ({lines} JSONL lines); counted {dict(sorted(counted.items()))}"
    )


def post_account(delivery: Any) -> int:
    request = urllib.request.Request(delivery.url, data=delivery.body,
                                     headers=delivery.headers(), method="POST")  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


def check_corrections(cases: dict[str, dict[str, Any]],
                      found: dict[str, list[bytes | None]]) -> None:  # fmt: skip
    by_case = {case: [Correction.model_validate_json(v) for v in found.get(c["status"]["id"], [])
                      if v is not None] for case, c in cases.items()}  # fmt: skip
    assert by_case["unmapped"] == [], "an unmapped report labels nothing"
    for case in ("confirmed", "dismissed"):
        reported, decision = by_case[case]
        assert (reported.source, reported.expected_categories) == ("user_report", ["hate_speech"])
        assert reported.actor_id == cases[case]["reporter"]
        assert reported.text and f"the {case} post" in reported.text
        assert "(category violation; rules 1)" in (reported.reason or "")
        assert decision.source == "admin_override"
        assert decision.actor_id == cases[case]["moderator"]
    assert by_case["confirmed"][1].expected_categories == ["hate_speech"]
    assert "hateful" in (by_case["confirmed"][0].reason or "")
    assert by_case["dismissed"][1].expected_categories == []
    (only,) = by_case["mixed"]
    assert (only.source, only.expected_categories) == ("user_report", ["hate_speech"])


Found = dict[str, list[bytes | None]]


def check_examples(
    ids: dict[str, str], corrections: Found, training: Found
) -> dict[str, TrainingExample]:
    assert ids["unmapped"] not in training, "an unmapped confirmed report makes no example"
    examples = {case: TrainingExample.model_validate_json(training[i][-1] or b"")
                for case, i in ids.items() if case != "unmapped"}  # fmt: skip
    assert ones(examples["confirmed"]) == ["hate_speech"]
    assert ones(examples["dismissed"]) == [], "dismissed: the post violates nothing"
    assert ones(examples["mixed"]) == ["hate_speech"], "the unmapped confirmation decides nothing"
    for case, example in examples.items():
        # The harvest policy, applied to the corrections on the topic, gives the same example.
        mine = [Correction.model_validate_json(v) for v in corrections[ids[case]] if v]
        policy = build_training_example(ids[case], mine, None, None,
                                        harvested_at=example.harvested_at)  # fmt: skip
        assert policy is not None
        assert policy.model_dump(exclude={"harvested_at"}) == example.model_dump(
            exclude={"harvested_at"}
        ), case
    return examples


def check_jsonl(directory: Path, examples: dict[str, TrainingExample]) -> int:
    latest: dict[str, TrainingExample] = {}
    report = ReadReport()
    for path in sorted(directory.glob("harvest_*.jsonl")):
        for line in read_jsonl(path, report):
            example = TrainingExample.model_validate(line)
            latest[example.status_id] = example
    assert report.clean, report
    assert {e.status_id: ones(e) for e in latest.values()} == {
        e.status_id: ones(e) for e in examples.values()
    }
    return report.records
