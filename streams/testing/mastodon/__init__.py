"""A local server that speaks Mastodon's protocols, for testing clients against it.

Built from Mastodon's own source (mastodon/mastodon) and documentation
(mastodon/documentation); each module cites the files it follows.

* ``MastodonServer`` (server.py) — async, in-process: streaming websocket,
  ``/api/v2/instance``, ``/api/v1/timelines/public``, ``/api/v1/reports``,
  with rate limits, injectable faults and signed webhook deliveries.
* ``MastodonServerThread`` (thread.py) — the same in a background thread.
* ``webhooks`` — build, sign and post webhook deliveries on their own.
"""

from streams.testing.mastodon.config import ServerConfig
from streams.testing.mastodon.server import MastodonServer
from streams.testing.mastodon.state import InstanceState, Report, Token
from streams.testing.mastodon.thread import MastodonServerThread
from streams.testing.mastodon.webhooks import (
    Attempt,
    Delivery,
    build_delivery,
    deliver_with_retries,
    signature,
    webhook_body,
)

__all__ = [
    "Attempt",
    "Delivery",
    "InstanceState",
    "MastodonServer",
    "MastodonServerThread",
    "Report",
    "ServerConfig",
    "Token",
    "build_delivery",
    "deliver_with_retries",
    "signature",
    "webhook_body",
]
