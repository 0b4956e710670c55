"""Settings of the fake instance, as a test chooses them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

#: Values of Mastodon's ``local_live_feed_access`` / ``remote_live_feed_access``
#: settings (4.5; app/controllers/api/v1/timelines/public_controller.rb).
FeedAccess = Literal["public", "authenticated", "disabled"]


class ServerConfig(BaseModel):
    """How the fake Mastodon instance behaves.

    ``local_feed_access``/``remote_feed_access`` decide whether
    ``GET /api/v1/timelines/public`` needs a user ("authenticated", the default,
    like an instance with public preview disabled) or not ("public").
    ``separate_streaming_port`` serves the streaming API from its own port, as
    instances with ``STREAMING_API_BASE_URL`` do; it is advertised in
    ``configuration.urls.streaming`` and can be made to refuse connections.
    ``public_streams_need_scope`` makes public streams demand ``read`` or
    ``read:statuses`` as the documentation says (streaming/index.js accepts any
    user token for them).
    """

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = 0
    domain: str = "mastodon.example"
    title: str = "Mastodon test instance"
    version: str = "4.5.0"
    local_feed_access: FeedAccess = "authenticated"
    remote_feed_access: FeedAccess = "authenticated"
    separate_streaming_port: bool = False
    public_streams_need_scope: bool = False
    streaming_heartbeat: float | None = 30.0
    rate_limits_enabled: bool = True
    user_agent_http_rb: str = "http.rb/5.2.0"
