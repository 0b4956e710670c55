"""The worker's HTTP pages: Prometheus metrics (more views are registered by their agents).

``/metrics`` serves the worker's registry and the Mastodon connector's (``streams_mastodon_*``:
the webhook deliveries this worker received). The connector keeps its own registry because the
follower, a process of its own, counts into it too.
"""

from __future__ import annotations

from typing import Any

import faust
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams import metrics
from streams.ingest.mastodon import metrics as mastodon_metrics


def register(app: faust.App) -> None:
    async def prometheus_metrics(web: Any, request: Any) -> Any:
        body = metrics.exposition() + generate_latest(mastodon_metrics.REGISTRY)
        return web.bytes(body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.page("/metrics")(prometheus_metrics)
