"""The stop switch over HTTP, for moderators' tools and a panic button.

``POST /api/v1/actions/stop`` and ``POST /api/v1/actions/resume`` flip the switch for every
worker (here at once, on the others within a fetch, and after any restart: the state is a
record on the control topic); ``GET /api/v1/actions/status`` says what the action agent is
doing. All need a bearer token of ``STREAMS_API_TOKEN``; flipping the switch needs one that
is not limited to some correction sources, so a user-report bridge's token cannot. A body
is optional: ``{"reason": "..."}`` as ``application/json``, kept on the record.
"""

from __future__ import annotations

import json
from typing import Any, Final

import faust

from streams.agents.actions import ActionAgent
from streams.models.actions import MAX_REASON_CHARS
from streams.settings import Settings
from streams.web.auth import authorize, parse_tokens
from streams.web.views import error as _error
from streams.web.views import only as _only

MAX_BODY_BYTES: Final = 4096


def register(app: faust.App, agent: ActionAgent, settings: Settings) -> None:
    tokens = parse_tokens(settings.api_token)

    def refused(web: Any, request: Any, *, flips: bool) -> Any:
        decision = authorize(request.headers.get("Authorization"), tokens)
        if decision.status != 200:
            return _error(web, decision.status, decision.message)
        if flips and decision.token is not None and decision.token.sources is not None:
            return _error(web, 403, "this token may only write corrections; use an unlimited one")
        return None

    def flipper(state: str) -> Any:
        async def flip(web: Any, request: Any) -> Any:
            answer = refused(web, request, flips=True)
            if answer is not None:
                return answer
            reason, problem = await _reason(request)
            if problem is not None:
                return _error(web, problem[0], problem[1])
            if not agent.ready:
                return _error(web, 503, "the action agent is still starting; try again shortly")
            record = await agent.flip(state, "api", reason)
            return web.json(
                {"state": record.state, "changed_at": record.changed_at.isoformat(),
                 "reason": record.reason},
                status=202,
            )  # fmt: skip

        return flip

    async def status(web: Any, request: Any) -> Any:
        answer = refused(web, request, flips=False)
        return answer if answer is not None else web.json(agent.status())

    app.page("/api/v1/actions/stop")(_only("post", flipper("stopped")))
    app.page("/api/v1/actions/resume")(_only("post", flipper("running")))
    app.page("/api/v1/actions/status")(_only("get", status))


async def _reason(request: Any) -> tuple[str | None, tuple[int, str] | None]:
    """The optional ``reason`` of the body, or the error status and message."""
    body = await request.content.read(MAX_BODY_BYTES + 1)
    if not body.strip():
        return None, None
    if request.content_type != "application/json":
        return None, (415, 'send {"reason": "..."} as Content-Type: application/json')
    if len(body) > MAX_BODY_BYTES:
        return None, (413, f"the body is at most {MAX_BODY_BYTES} bytes")
    try:
        parsed = json.loads(body)
    except ValueError:
        return None, (422, "the body is not JSON")
    reason = parsed.get("reason") if isinstance(parsed, dict) else None
    if reason is not None and (not isinstance(reason, str) or len(reason) > MAX_REASON_CHARS):
        return None, (422, f"reason must be a string of at most {MAX_REASON_CHARS} characters")
    return reason, None
