"""Builders for realistic Mastodon REST entities (Account, Status, MediaAttachment).

Field names and order follow REST::AccountSerializer, REST::StatusSerializer and
REST::MediaAttachmentSerializer (mastodon/mastodon app/serializers/rest/) and the
entity pages of mastodon/documentation (content/en/entities/Account.md,
Status.md, MediaAttachment.md).  The payloads are the *anonymous* rendering,
the one the streaming server and webhooks carry (InlineRenderer with no current
user); viewer-specific fields are added by the timeline endpoint.
"""

from __future__ import annotations

import html
import json
from datetime import datetime, timedelta
from typing import Any

from streams.testing.mastodon.ids import SnowflakeIds, iso_ms, midnight_iso, utc_now

JSONDict = dict[str, Any]

#: Fields REST::StatusSerializer only renders for a logged-in viewer.
VIEWER_FIELDS = ("favourited", "reblogged", "muted", "bookmarked", "pinned", "filtered")


def compact_json(value: Any) -> str:
    """JSON the way JavaScript's JSON.stringify and Oj.dump print it: no spaces, raw UTF-8."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def make_account(
    username: str,
    *,
    domain: str | None,
    local_domain: str,
    account_id: str,
    created_at: datetime | None = None,
    display_name: str | None = None,
    bot: bool = False,
) -> JSONDict:
    """An Account entity; ``domain=None`` makes it local to ``local_domain``."""
    host = domain or local_domain
    acct = username if domain is None else f"{username}@{domain}"
    created = created_at or utc_now() - timedelta(days=400)
    account: JSONDict = {
        "id": account_id,
        "username": username,
        "acct": acct,
        "display_name": display_name if display_name is not None else username.title(),
        "locked": False,
        "bot": bot,
        "discoverable": True,
        "indexable": False,
        "group": False,
        "created_at": midnight_iso(created),
        "note": f"<p>{html.escape(username)} posts here.</p>",
        "url": f"https://{host}/@{username}",
        "uri": f"https://{host}/users/{username}",
        "avatar": f"https://{local_domain}/avatars/original/missing.png",
        "avatar_static": f"https://{local_domain}/avatars/original/missing.png",
        "header": f"https://{local_domain}/headers/original/missing.png",
        "header_static": f"https://{local_domain}/headers/original/missing.png",
        "followers_count": 12,
        "following_count": 34,
        "statuses_count": 56,
        "last_status_at": utc_now().date().isoformat(),
        "hide_collections": False,
        "emojis": [],
        "fields": [],
    }
    if domain is None:
        # REST::AccountSerializer renders `noindex` for local accounts only.
        account["noindex"] = False
    return account


def make_media_attachment(
    media_id: str, *, local_domain: str, description: str | None = None, kind: str = "image"
) -> JSONDict:
    """A MediaAttachment entity (REST::MediaAttachmentSerializer field order)."""
    base = f"https://{local_domain}/system/media_attachments/files/{media_id}"
    return {
        "id": media_id,
        "type": kind,
        "url": f"{base}/original/image.png",
        "preview_url": f"{base}/small/image.png",
        "remote_url": None,
        "preview_remote_url": None,
        "text_url": None,
        "meta": {
            "original": {"width": 640, "height": 480, "size": "640x480", "aspect": 1.333333},
            "small": {"width": 400, "height": 300, "size": "400x300", "aspect": 1.333333},
        },
        "description": description,
        "blurhash": "UFBWY:8_0Jxv4mx]t8t64.%M-:IUWGWAt6M}",
    }


def paragraphs(text: str) -> str:
    """Plain text as Mastodon's formatter renders it: escaped, one <p> per paragraph."""
    parts = [html.escape(chunk).replace("\n", "<br />") for chunk in text.split("\n\n")]
    return "".join(f"<p>{part}</p>" for part in parts)


def make_status(
    ids: SnowflakeIds,
    account: JSONDict,
    *,
    text: str = "Hello from the fediverse",
    created_at: datetime | None = None,
    language: str | None = "en",
    spoiler_text: str = "",
    sensitive: bool = False,
    visibility: str = "public",
    media_descriptions: tuple[str | None, ...] = (),
    in_reply_to: JSONDict | None = None,
    reblog: JSONDict | None = None,
    local_domain: str = "mastodon.example",
) -> JSONDict:
    """A Status entity in REST::StatusSerializer order, anonymous rendering."""
    created = created_at or utc_now()
    status_id = ids.at(created)
    host = account["url"].split("/")[2]
    username = account["username"]
    media = [
        make_media_attachment(ids.at(created), local_domain=local_domain, description=desc)
        for desc in media_descriptions
    ]
    return {
        "id": status_id,
        "created_at": iso_ms(created),
        "in_reply_to_id": in_reply_to["id"] if in_reply_to else None,
        "in_reply_to_account_id": in_reply_to["account"]["id"] if in_reply_to else None,
        "sensitive": sensitive or bool(spoiler_text),
        "spoiler_text": spoiler_text,
        "visibility": visibility,
        "language": language,
        "uri": f"https://{host}/users/{username}/statuses/{status_id}",
        "url": f"https://{host}/@{username}/{status_id}",
        "replies_count": 0,
        "reblogs_count": 0,
        "favourites_count": 0,
        "quotes_count": 0,
        "edited_at": None,
        "content": "" if reblog else paragraphs(text),
        "reblog": reblog,
        "account": account,
        "media_attachments": media,
        "mentions": [],
        "tags": [],
        "emojis": [],
        "quote": None,
        "card": None,
        "poll": None,
    }


def edited(status: JSONDict, *, edited_at: datetime | None = None, **changes: Any) -> JSONDict:
    """A copy of ``status`` as it renders after an edit: same id, fresh ``edited_at``.

    ``text=`` is accepted as a shorthand for new plain-text ``content``.
    """
    updated = dict(status)
    text = changes.pop("text", None)
    if text is not None:
        updated["content"] = paragraphs(str(text))
    updated.update(changes)
    updated["edited_at"] = iso_ms(edited_at or utc_now())
    return updated


def anonymous(status: JSONDict) -> JSONDict:
    """``status`` without the viewer-specific fields (the streaming/webhook rendering)."""
    return {key: value for key, value in status.items() if key not in VIEWER_FIELDS}


def for_viewer(status: JSONDict) -> JSONDict:
    """``status`` as REST::StatusSerializer renders it to a logged-in user who has not
    interacted with it (``favourited`` etc. are false, ``filtered`` is empty)."""
    rendered = dict(status)
    for key in ("favourited", "reblogged", "muted", "bookmarked"):
        rendered.setdefault(key, False)
    rendered.setdefault("filtered", [])
    return rendered
