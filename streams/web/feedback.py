"""The worker's feedback endpoints, as the platform's moderation tools call them.

``POST /api/v1/feedback`` validates a correction and publishes it to the corrections topic;
``GET /api/feedback/summary`` counts the corrections this worker's harvester has read. Both
need a bearer token of ``STREAMS_API_TOKEN`` (see :mod:`streams.web.auth`); the POST takes
``application/json`` only, so a browser's cross-site form or ``text/plain`` request is refused
before anything is read, and at most ``STREAMS_API_MAX_BODY_BYTES``.
"""

from __future__ import annotations

from typing import Any

import faust
from pydantic import ValidationError

from streams.agents.harvester import HarvesterAgent
from streams.models.corrections import Correction
from streams.settings import Settings
from streams.web.auth import Decision, authorize, parse_tokens
from streams.web.body import read_body
from streams.web.views import error as _error
from streams.web.views import only as _only


def register(app: faust.App, harvester: HarvesterAgent, settings: Settings) -> None:
    tokens = parse_tokens(settings.api_token)
    limit = settings.api_max_body_bytes

    def check(web: Any, request: Any) -> tuple[Decision, Any]:
        decision = authorize(request.headers.get("Authorization"), tokens)
        if decision.status == 200:
            return decision, None
        return decision, _error(web, decision.status, decision.message)

    async def post_feedback(web: Any, request: Any) -> Any:
        decision, refused = check(web, request)
        if refused is not None:
            return refused
        if request.content_type != "application/json":
            return _error(web, 415, "send the correction as Content-Type: application/json")
        body = await read_body(request, limit)
        if body is None:
            return _error(web, 413, f"a correction is at most {limit} bytes")
        try:
            correction = Correction.model_validate_json(body)
        except ValidationError as exc:
            errors = [
                {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()
            ]
            return web.json({"detail": errors}, status=422)
        if not decision.may_write(correction.source):
            return _error(web, 403, f"this token may not write {correction.source} corrections")
        future = await app.producer.send(
            harvester.corrections_topic_name,
            correction.status_id.encode(),
            correction.to_bytes(),
            None,
            None,
            None,
        )
        metadata = await future
        return web.json(
            {
                "correction_id": correction.correction_id,
                "status_id": correction.status_id,
                "partition": metadata.partition,
                "offset": metadata.offset,
            },
            status=202,
        )

    async def summary(web: Any, request: Any) -> Any:
        _, refused = check(web, request)
        if refused is not None:
            return refused
        return web.json(harvester.counts.as_json())

    app.page("/api/v1/feedback")(_only("post", post_feedback))
    app.page("/api/feedback/summary")(_only("get", summary))
