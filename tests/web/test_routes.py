"""Every route the worker serves, against the list of the ones we mean to serve."""

from __future__ import annotations

from pathlib import Path

from streams.app import create_app
from streams.settings import Settings

ALLOWED = {
    ("GET", "/"),  # Faust's production index: {"status": "OK"}, the readiness probe
    ("GET", "/metrics"),
    ("POST", "/api/v1/feedback"),
    ("GET", "/api/feedback/summary"),
    ("POST", "/webhooks/mastodon"),  # authenticated by Mastodon's signature, not a token
}


def test_the_worker_serves_only_the_routes_we_mean(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    web = app.web
    web.init_server()
    served = {
        (route.method, route.resource.canonical)
        for route in web.web_app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }
    assert served == ALLOWED
