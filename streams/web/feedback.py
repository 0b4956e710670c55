"""The worker's feedback endpoints, as the platform's moderation tools call them.

``POST /api/v1/feedback`` validates a correction and publishes it to the corrections topic;
``GET /api/feedback/summary`` counts the corrections this worker's harvester has read.
"""

from __future__ import annotations

from typing import Any

import faust
from pydantic import ValidationError

from streams.agents.harvester import HarvesterAgent
from streams.models.corrections import Correction


def register(app: faust.App, harvester: HarvesterAgent) -> None:
    async def post_feedback(web: Any, request: Any) -> Any:
        body = await request.read()
        try:
            correction = Correction.model_validate_json(body)
        except ValidationError as exc:
            errors = [
                {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()
            ]
            return web.json({"detail": errors}, status=422)
        future = await app.producer.send(
            harvester.corrections_topic.get_topic_name(),
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
        return web.json(harvester.counts.as_json())

    app.page("/api/v1/feedback")(_post_only(post_feedback))
    app.page("/api/feedback/summary")(summary)


def _post_only(handler: Any) -> Any:
    class FeedbackView(faust.web.View):
        async def post(self, request: Any) -> Any:
            return await handler(self, request)

    return FeedbackView

