"""The worker's HTTP pages: Prometheus metrics (more views are registered by their agents)."""

from __future__ import annotations

from typing import Any

import faust
from prometheus_client import CONTENT_TYPE_LATEST

from streams import metrics


def register(app: faust.App) -> None:
    async def prometheus_metrics(web: Any, request: Any) -> Any:
        return web.bytes(metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.page("/metrics")(prometheus_metrics)
