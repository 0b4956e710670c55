"""Request bodies are read whole, in however many chunks they arrive, and refused over the limit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from streams.web.body import read_body

LIMIT = 100_000


async def chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]
        await asyncio.sleep(0)  # the server sees them as separate chunks


async def post(data: bytes, *, chunked: bool) -> tuple[int, bytes]:
    async def handle(request: web.Request) -> web.Response:
        body = await read_body(request, LIMIT)
        return web.Response(status=413) if body is None else web.Response(body=body)

    app = web.Application()
    app.router.add_post("/", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
    try:
        async with aiohttp.ClientSession() as http:
            sent = chunks(data, 4096) if chunked else data
            async with http.post(url, data=sent) as response:
                return response.status, await response.read()
    finally:
        await runner.cleanup()


def test_a_body_in_many_chunks_is_read_whole() -> None:
    data = bytes(range(256)) * 300  # 76,800 bytes in 19 chunks, no Content-Length
    assert asyncio.run(post(data, chunked=True)) == (200, data)


def test_a_body_at_the_limit_is_read_and_one_byte_more_is_refused() -> None:
    assert asyncio.run(post(b"x" * LIMIT, chunked=False)) == (200, b"x" * LIMIT)
    assert asyncio.run(post(b"x" * (LIMIT + 1), chunked=False))[0] == 413
    assert asyncio.run(post(b"x" * (LIMIT + 1), chunked=True))[0] == 413
