"""Mastodon entities as its serializers shape them, for the connector's tests.

Shapes follow REST::StatusSerializer, REST::Admin::AccountSerializer, REST::RuleSerializer,
REST::Admin::ReportSerializer and REST::Admin::WebhookEventSerializer (ids as strings, times as
ISO 8601 with milliseconds and ``Z``); bodies are compact JSON with raw UTF-8, as ``Oj.dump``
writes them.
"""

from __future__ import annotations

import json
from typing import Any


def status(
    status_id: str = "109348677773283527", html: str = "<p>hello</p>", **extra: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": status_id,
        "created_at": "2022-11-15T16:06:48.410Z",
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": "en",
        "uri": f"https://mastodon.local/users/admin/statuses/{status_id}",
        "url": f"https://mastodon.local/@admin/{status_id}",
        "replies_count": 0,
        "reblogs_count": 0,
        "favourites_count": 0,
        "edited_at": None,
        "content": html,
        "reblog": None,
        "application": {"name": "Web", "website": None},
        "account": {
            "id": "109334860508022726",
            "username": "admin",
            "acct": "admin",
            "display_name": "",
            "locked": False,
            "bot": False,
            "discoverable": None,
            "group": False,
            "created_at": "2022-11-13T00:00:00.000Z",
            "note": "",
            "url": "https://mastodon.local/@admin",
            "followers_count": 0,
            "following_count": 0,
            "statuses_count": 4,
            "last_status_at": "2022-11-15",
            "emojis": [],
            "fields": [],
        },
        "media_attachments": [],
        "mentions": [],
        "tags": [],
        "emojis": [],
        "card": None,
        "poll": None,
    }
    data.update(extra)
    return data


def admin_account(
    account_id: str, username: str, domain: str | None = None, **flags: bool
) -> dict[str, Any]:
    # What only a local account has (a user: confirmed, disabled, approved) is null for a
    # remote one, as in the example of Mastodon's admin/webhooks documentation.
    local = domain is None
    return {
        "id": account_id,
        "username": username,
        "domain": domain,
        "created_at": "2022-11-13T00:00:00.000Z",
        "email": None if domain else f"{username}@mastodon.local",
        "ip": None,
        "role": None,
        "confirmed": True if local else None,
        "suspended": flags.get("suspended", False),
        "silenced": flags.get("silenced", False),
        "sensitized": flags.get("sensitized", False),
        "disabled": flags.get("disabled", False) if local else None,
        "approved": True if local else None,
        "locale": None,
        "invite_request": None,
        "ips": [],
        "account": {"id": account_id, "username": username, "acct": username},
    }


def rule(rule_id: str, text: str) -> dict[str, Any]:
    return {"id": rule_id, "text": text, "hint": ""}


def report(
    report_id: str = "42",
    *,
    category: str = "violation",
    rules: list[dict[str, Any]] | None = None,
    comment: str = "slurs in the replies",
    statuses: list[dict[str, Any]] | None = None,
    reporter: dict[str, Any] | None = None,
    target: dict[str, Any] | None = None,
    resolved_by: dict[str, Any] | None = None,
    forwarded: bool = False,
) -> dict[str, Any]:
    resolved = resolved_by is not None
    return {
        "id": report_id,
        "action_taken": resolved,
        "action_taken_at": "2022-11-16T09:00:00.000Z" if resolved else None,
        "category": category,
        "comment": comment,
        "forwarded": forwarded,
        "created_at": "2022-11-15T17:00:00.000Z",
        "updated_at": "2022-11-16T09:00:00.000Z" if resolved else "2022-11-15T17:00:00.000Z",
        "account": reporter or admin_account("200", "alice"),
        "target_account": target or admin_account("109334860508022726", "admin"),
        "assigned_account": None,
        "action_taken_by_account": resolved_by,
        "statuses": [status()] if statuses is None else statuses,
        "rules": [rule("3", "No hate speech")] if rules is None else rules,
    }


def webhook_body(
    event: str, obj: dict[str, Any], created_at: str = "2022-11-16T09:00:01.123Z"
) -> bytes:
    envelope = {"event": event, "created_at": created_at, "object": obj}
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()
