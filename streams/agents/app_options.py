"""Faust's settings for the app, derived from ours and nothing else."""

from __future__ import annotations

from typing import Any

from streams import __version__
from streams.kafka.catalog import DLQ_MAX_MESSAGE_BYTES
from streams.kafka.client import faust_credentials
from streams.settings import Settings


def faust_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``faust.App`` under ``settings``."""
    return {
        "broker": settings.faust_broker_url,
        # An empty env: Faust must not read unprefixed variables (BROKER_URL, WEB_PORT, ...)
        # behind the settings object's back.
        "env": {},
        "version": 1,
        "store": "memory://",
        "autodiscover": False,
        "datadir": str(settings.data_dir / "faust"),
        "web_enabled": True,
        "web_host": settings.web_host,
        "web_port": settings.web_port,
        "web_bind": settings.web_host,
        # Faust's own views would serve table contents (post texts) and routing to anyone
        # who reaches the port: only the pages registered in streams.app are served.
        "web_router_enabled": False,
        "web_tables_enabled": False,
        "web_graph_enabled": False,
        "web_stats_enabled": False,
        "web_metrics_enabled": False,
        "topic_partitions": settings.topic_partitions,
        "topic_replication_factor": settings.topic_replication_factor,
        "broker_commit_interval": settings.broker_commit_interval_s,
        "broker_session_timeout": settings.broker_session_timeout_s,
        "broker_heartbeat_interval": min(3.0, settings.broker_session_timeout_s / 3),
        "consumer_auto_offset_reset": "earliest",
        # Faust would hold a rebalance (and a stop) until every record handed out is acked,
        # however long that takes: an LLM outage, a correction waiting for its text. The
        # classifier bounds that wait itself (STREAMS_REBALANCE_DRAIN_S) and drops the rest;
        # what is not acked is redone by the partition's next owner.
        "stream_wait_empty": False,
        "producer_acks": -1,
        # A dead letter is its original record plus headers, so it can exceed the broker's
        # default 1 MiB; the dead-letter topic allows 2 MiB (see streams.kafka.catalog).
        "producer_max_request_size": DLQ_MAX_MESSAGE_BYTES,
        "broker_client_id": f"{settings.app_id}-{__version__}",
        "broker_credentials": faust_credentials(settings),
    }
