"""The backfill walk: the public timeline from the newest status down to ``since_id``.

Mastodon pages newest first; the walk follows the ``next`` Link (with ``since_id`` put back,
which Mastodon's link drops) until an empty page, a page reaching past ``since_id`` (a server
that ignores it), or a status older than the cutoff. Statuses older than the cutoff are left
out. The caller records the newest id only once the whole walk is acknowledged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from streams.ingest.mastodon.rest import MastodonClient
from streams.ingest.mastodon.streaming import id_number, newest_id, next_page_url

Send = Callable[[str, bytes], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Walked:
    newest: str | None
    published: int
    too_old: int
    pages: int


async def walk_timeline(
    client: MastodonClient,
    send: Send,
    first_url: str,
    since_id: str | None,
    cutoff: datetime,
    stop: asyncio.Event,
) -> Walked:
    """Publish (``send``) every status of the walk from ``first_url``; see the module."""
    newest, published, too_old, pages = since_id, 0, 0, 0
    floor = id_number(since_id) if since_id else None
    url: str | None = first_url
    seen: set[str] = set()
    while url and url not in seen and not stop.is_set():
        seen.add(url)
        page, link, _ = await client.timeline_page(url)
        pages += 1
        for item in page:
            if item.created_at is not None and item.created_at < cutoff:
                too_old += 1
                continue
            await send(item.status_id, item.value)
            published += 1
            newest = newest_id(newest, item.status_id)
        oldest = page[-1] if page else None
        if oldest is None or (oldest.created_at or cutoff) <= cutoff:
            break
        numbers = [id_number(item.status_id) for item in page]
        if floor is not None and any(n is not None and n <= floor for n in numbers):
            break
        url = next_page_url(link, since_id)
    return Walked(newest, published, too_old, pages)
