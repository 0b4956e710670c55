"""What the API's views share: their error answers, and views that answer one method."""

from __future__ import annotations

from typing import Any

import faust


def error(web: Any, status: int, message: str) -> Any:
    """``{"detail": message}`` with ``status``; a 401 names the scheme to use."""
    headers = {"WWW-Authenticate": 'Bearer realm="streams"'} if status == 401 else None
    return web.json({"detail": message}, status=status, headers=headers)


def only(method: str, handler: Any) -> Any:
    """A view answering ``method`` alone (405 to the others, as Faust's views do)."""

    async def call(self: Any, request: Any) -> Any:
        return await handler(self, request)

    return type("ApiView", (faust.web.View,), {method: call})
