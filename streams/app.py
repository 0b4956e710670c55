"""The Faust app: built from the settings object, with every agent and web page registered.

``streams worker`` (the console script) and ``faust -A streams.app worker`` both load ``app``
from here. The commands (``streams kafka``, ``streams bench``, ...) are registered by
``streams.cli`` alone, so a worker never imports the harnesses behind them.
"""

from __future__ import annotations

import gc
from typing import Final

import faust

from streams import __version__, metrics
from streams.agents import actions, classifier, flow_control, harvest_run, log_policy, mirror
from streams.agents.app_options import faust_options
from streams.agents.shutdown import ShutdownGuard
from streams.scoring.factory import backend_identity
from streams.settings import Settings, get_settings
from streams.web import action_switch, feedback, metrics_page, webhooks

#: Allocations between two young-generation collections (Python's default is 700).
YOUNG_COLLECTION_EVERY: Final = 20_000


def create_app(settings: Settings) -> faust.App:
    """A Faust app with this project's agents and web pages."""
    log_policy.install()
    # A record allocates dozens of objects on its way through (its model, its fields, its
    # output), so the default threshold ran a collection every few records, and each one
    # walks what the batch still holds: a fifth of the harvester's CPU at thousands of
    # corrections a second. The objects are freed by reference counting anyway; collections
    # are only for cycles, which a few thousand allocations' delay does not grow.
    young, older, oldest = gc.get_threshold()
    gc.set_threshold(max(YOUNG_COLLECTION_EVERY, young), older, oldest)
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
    harvest = harvest_run.register(app, settings, guard)
    if harvest is not None:
        feedback.register(app, harvest, settings)
    webhooks.register(app, settings)
    acting = actions.register(app, settings, guard)
    if acting is not None:
        action_switch.register(app, acting, settings)
    metrics_page.register(app)
    # What is loaded by now (modules, models, schemas) lives as long as the worker: left out
    # of every later full collection, which would otherwise walk it all again each time.
    gc.freeze()
    return app


app = create_app(get_settings())
