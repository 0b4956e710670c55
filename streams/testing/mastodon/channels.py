"""Which streams a status event reaches, and how stream names map to channels.

* Stream names -> Redis channel ids, scope rules and error texts:
  mastodon/mastodon streaming/index.js (``channelNameToIds``, ``checkScopes``,
  ``streamNameFromChannelName``, ``PUBLIC_CHANNELS``).
* Which channels an ``update``/``status.update`` is published to:
  app/services/fan_out_on_write_service.rb (``broadcastable?``,
  ``broadcast_to_public_streams!``, ``broadcast_to_hashtag_streams!``).
* Which channels a ``delete`` is published to:
  app/services/remove_status_service.rb (``remove_from_public``,
  ``remove_from_media``, ``remove_from_hashtags``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streams.testing.mastodon.entities import JSONDict
from streams.testing.mastodon.state import Token, is_local

PUBLIC_CHANNELS = (
    "public", "public:media", "public:local", "public:local:media",
    "public:remote", "public:remote:media", "hashtag", "hashtag:local",
)

_FIXED = {
    "public": "timeline:public",
    "public:local": "timeline:public:local",
    "public:remote": "timeline:public:remote",
    "public:media": "timeline:public:media",
    "public:local:media": "timeline:public:local:media",
    "public:remote:media": "timeline:public:remote:media",
}


class SubscriptionError(Exception):
    """A refused subscription; sent to the socket as ``{"error":..., "status":...}``."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Channel:
    """A resolved subscription: Redis channel ids, the stream name sent back, filtering."""

    ids: tuple[str, ...]
    stream: tuple[str, ...]
    needs_filtering: bool


def check_scopes(token: Token, name: str, *, public_needs_scope: bool) -> None:
    """streaming/index.js ``checkScopes``: public channels need no scope."""
    if name in PUBLIC_CHANNELS and not public_needs_scope:
        return
    wanted = {"read", "read:notifications" if name == "user:notification" else "read:statuses"}
    if not token.scopes.intersection(wanted):
        raise SubscriptionError("Access token does not have the required scopes", 401)


def normalize_hashtag(tag: str) -> str:
    """A close approximation of streaming/utils.js ``normalizeHashtag``."""
    return "".join(ch for ch in tag.lower() if ch.isalnum() or ch in "_\u00b7\u200c")


def resolve(token: Token, name: str, params: dict[str, Any]) -> Channel:
    """streaming/index.js ``channelNameToIds`` + ``streamNameFromChannelName``."""
    account = token.account_id
    if name in _FIXED:
        return Channel((_FIXED[name],), (name,), True)
    if name in ("hashtag", "hashtag:local"):
        tag = params.get("tag")
        if not tag:
            raise SubscriptionError("Missing tag name parameter", 400)
        suffix = ":local" if name == "hashtag:local" else ""
        return Channel((f"timeline:hashtag:{normalize_hashtag(str(tag))}{suffix}",),
                       (name, str(tag)), True)
    if name == "user":
        ids = [f"timeline:{account}"]
        if token.scopes.intersection({"read", "read:notifications"}):
            ids.append(f"timeline:{account}:notifications")
        return Channel(tuple(ids), (name,), False)
    if name == "user:notification":
        return Channel((f"timeline:{account}:notifications",), (name,), False)
    if name == "direct":
        return Channel((f"timeline:direct:{account}",), (name,), False)
    if name == "list":
        if not params.get("list"):
            raise SubscriptionError("Missing list name parameter", 400)
        # This instance has no lists, so every list is someone else's.
        raise SubscriptionError("Not authorized to stream this list", 401)
    raise SubscriptionError("Unknown stream type", 400)


def _is_reply_to_other(status: JSONDict) -> bool:
    reply_to = status.get("in_reply_to_account_id")
    return bool(status.get("in_reply_to_id")) and reply_to != status["account"]["id"]


def _hashtag_channels(status: JSONDict, local: bool) -> list[str]:
    channels: list[str] = []
    for tag in status.get("tags") or []:
        name = str(tag.get("name", "")).lower()
        channels.append(f"timeline:hashtag:{name}")
        if local:
            channels.append(f"timeline:hashtag:{name}:local")
    return channels


def update_channels(status: JSONDict, *, silenced: bool = False) -> list[str]:
    """Channels FanOutOnWriteService publishes an update (or edit) of ``status`` to."""
    if status.get("visibility") != "public" or status.get("reblog") or silenced:
        return []
    local = is_local(status["account"])
    channels = _hashtag_channels(status, local)
    if _is_reply_to_other(status):
        return channels
    where = "local" if local else "remote"
    channels += ["timeline:public", f"timeline:public:{where}"]
    if status.get("media_attachments"):
        channels += ["timeline:public:media", f"timeline:public:{where}:media"]
    return channels


def delete_channels(status: JSONDict) -> list[str]:
    """Channels RemoveStatusService publishes the ``delete`` of ``status`` to."""
    local = is_local(status["account"])
    channels = _hashtag_channels(status, local)
    if status.get("visibility") != "public":
        return channels
    where = "local" if local else "remote"
    channels += ["timeline:public", f"timeline:public:{where}"]
    if status.get("media_attachments"):
        channels += ["timeline:public:media", f"timeline:public:{where}:media"]
    return channels
