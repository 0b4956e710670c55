"""The Faust app: built from the settings object, with every agent and command registered.

``streams worker`` (the console script) and ``faust -A streams.app worker`` both load ``app``
from here.
"""

from __future__ import annotations

from typing import Any

import faust

from streams import __version__, feedback_api, flow_control, log_policy, metrics, web
from streams.agents import classifier, harvester, mirror
from streams.commands import bench as bench_commands
from streams.commands import chaos as chaos_commands
from streams.commands import demo as demo_commands
from streams.commands import harvest as harvest_commands
from streams.commands import kafka as kafka_commands
from streams.commands import produce as produce_commands
from streams.commands import schemas as schemas_commands
from streams.commands import topics as topics_commands
from streams.kafka_client import faust_credentials
from streams.scoring.factory import backend_identity
from streams.settings import Settings, get_settings
from streams.shutdown import ShutdownGuard
from streams.topics import DLQ_MAX_MESSAGE_BYTES


def faust_options(settings: Settings) -> dict[str, Any]:
    """Faust's settings, derived from ours and nothing else."""
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
        "topic_partitions": settings.topic_partitions,
        "topic_replication_factor": settings.topic_replication_factor,
        "broker_commit_interval": settings.broker_commit_interval_s,
        "broker_session_timeout": settings.broker_session_timeout_s,
        "broker_heartbeat_interval": min(3.0, settings.broker_session_timeout_s / 3),
        "consumer_auto_offset_reset": "earliest",
        "producer_acks": -1,
        # A dead letter is its original record plus headers, so it can exceed the broker's
        # default 1 MiB; the dead-letter topic allows 2 MiB (see streams.topics).
        "producer_max_request_size": DLQ_MAX_MESSAGE_BYTES,
        "broker_client_id": f"{settings.app_id}-{__version__}",
        "broker_credentials": faust_credentials(settings),
    }


def create_app(settings: Settings) -> faust.App:
    """A Faust app with this project's agents and commands."""
    log_policy.install()
    # Faust keeps its version directory under data_dir and will not create the parents.
    (settings.data_dir / "faust").mkdir(parents=True, exist_ok=True)
    app = faust.App(settings.app_id, **faust_options(settings))
    flow_control.install(app)
    backend, model, prompt_version = backend_identity(settings)
    metrics.prime(backend)
    metrics.BUILD_INFO.labels(__version__, backend, model, prompt_version).set(1)
    guard = ShutdownGuard(app, settings.shutdown_timeout_s)
    mirror.register(app, settings)
    classifier.register(app, settings, guard)
    harvest = harvester.register(app, settings, guard)
    if harvest is not None:
        feedback_api.register(app, harvest)
    web.register(app)
    kafka_commands.register(app, settings)
    harvest_commands.register(app, settings)
    demo_commands.register(app, settings)
    topics_commands.register(app, settings)
    produce_commands.register(app, settings)
    schemas_commands.register(app, settings)
    bench_commands.register(app, settings)
    chaos_commands.register(app, settings)
    return app


app = create_app(get_settings())
