"""Reading a request body with a limit, whatever the client sent as Content-Length."""

from __future__ import annotations

from typing import Any


async def read_body(request: Any, limit: int) -> bytes | None:
    """The whole body of ``request``, or None when it is over ``limit`` bytes.

    One ``content.read(n)`` returns what the socket has so far, not the whole body, so a body
    that arrives in several chunks (a large one, or a chunked upload without Content-Length)
    is read in a loop; never more than ``limit + 1`` bytes are held.
    """
    if (request.content_length or 0) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = await request.content.read(limit + 1 - size)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
    return None
