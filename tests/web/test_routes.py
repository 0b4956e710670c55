"""Every route the worker serves, against the list of the ones we mean to serve."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.app import create_app
from streams.settings import Settings

ALLOWED = {
    ("GET", "/"),  # Faust's production index: {"status": "OK"}, the readiness probe
    ("GET", "/metrics"),
    ("POST", "/api/v1/feedback"),
    ("GET", "/api/feedback/summary"),
    ("POST", "/webhooks/mastodon"),  # authenticated by Mastodon's signature, not a token
}
#: Served only while the action agent runs (STREAMS_ACTIONS_MODE dry-run or live).
ACTION_ROUTES = {
    ("POST", "/api/v1/actions/stop"),
    ("POST", "/api/v1/actions/resume"),
    ("GET", "/api/v1/actions/status"),
}


@pytest.mark.parametrize(
    ("mode", "expected"), [("off", ALLOWED), ("dry-run", ALLOWED | ACTION_ROUTES)]
)
def test_the_worker_serves_only_the_routes_we_mean(
    tmp_path: Path, mode: str, expected: set[tuple[str, str]]
) -> None:
    app = create_app(Settings(data_dir=tmp_path, actions_mode=mode))  # type: ignore[arg-type]
    web = app.web
    web.init_server()
    served = {
        (route.method, route.resource.canonical)
        for route in web.web_app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }
    assert served == expected
