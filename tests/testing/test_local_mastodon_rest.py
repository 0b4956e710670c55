"""The fake Mastodon server's public timeline and rate limiting, seen by a plain aiohttp client.

Expected behaviour: mastodon/mastodon app/controllers/api/v1/timelines/public_controller.rb,
app/models/public_feed.rb, app/models/concerns/paginable.rb,
config/initializers/rack_attack.rb and Doorkeeper's token checks.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from streams.testing.mastodon import MastodonServer, ServerConfig

Scenario = Callable[[MastodonServer, aiohttp.ClientSession], Awaitable[None]]


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def run(scenario: Scenario, config: ServerConfig | None = None,
        clock: FakeClock | None = None) -> None:
    async def main() -> None:
        server = MastodonServer(config, clock=clock) if clock else MastodonServer(config)
        async with server, aiohttp.ClientSession() as http:
            await asyncio.wait_for(scenario(server, http), timeout=10)

    asyncio.run(main())


async def get(http: aiohttp.ClientSession, url: str, token: str | None = None,
              ) -> tuple[int, Any, dict[str, str]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.get(url, headers=headers) as resp:
        return resp.status, await resp.json(content_type=None), dict(resp.headers)


def fill(server: MastodonServer, count: int, **fields: Any) -> list[str]:
    """Store ``count`` statuses; their ids, oldest first."""
    return [server.add_status(server.new_status(text=f"post {n}", **fields))["id"]
            for n in range(count)]


def links(header: str) -> dict[str, str]:
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', header)}


def test_pages_are_newest_first_with_mastodons_link_header() -> None:
    async def scenario(server: MastodonServer, http: aiohttp.ClientSession) -> None:
        token = server.add_token("read:statuses").token
        ids = fill(server, 5)
        url = f"{server.base_url}/api/v1/timelines/public"
        status, body, headers = await get(http, f"{url}?limit=2&remote=true", token)
        assert status == 200
        assert [s["id"] for s in body] == [ids[4], ids[3]]
        assert headers["Link"] == (
            f'<{url}?limit=2&max_id={ids[3]}&remote=true>; rel="next", '
            f'<{url}?limit=2&min_id={ids[4]}&remote=true>; rel="prev"')
        _, older, _ = await get(http, links(headers["Link"])["next"], token)
        assert [s["id"] for s in older] == [ids[2], ids[1]]
        assert older[0]["favourited"] is False and older[0]["filtered"] == []
        _, newer, newer_headers = await get(http, links(headers["Link"])["prev"], token)
        assert newer == [] and "Link" not in newer_headers

    run(scenario)


def test_since_id_returns_the_newest_and_min_id_the_adjacent() -> None:
    async def scenario(server: MastodonServer, http: aiohttp.ClientSession) -> None:
        token = server.add_token("read").token
        ids = fill(server, 6)
        url = f"{server.base_url}/api/v1/timelines/public"
        _, since, _ = await get(http, f"{url}?since_id={ids[0]}&limit=2", token)
        assert [s["id"] for s in since] == [ids[5], ids[4]]
        _, after, _ = await get(http, f"{url}?min_id={ids[0]}&limit=2", token)
        assert [s["id"] for s in after] == [ids[2], ids[1]]
        _, between, _ = await get(http, f"{url}?max_id={ids[4]}&since_id={ids[1]}", token)
        assert [s["id"] for s in between] == [ids[3], ids[2]]

    run(scenario)


def test_limit_defaults_to_20_and_caps_at_40() -> None:
    async def scenario(server: MastodonServer, http: aiohttp.ClientSession) -> None:
        token = server.add_token("read").token
        fill(server, 45)
        url = f"{server.base_url}/api/v1/timelines/public"
        assert len((await get(http, url, token))[1]) == 20
        assert len((await get(http, f"{url}?limit=100", token))[1]) == 40
        assert len((await get(http, f"{url}?limit=-3", token))[1]) == 3

    run(scenario)


def test_local_remote_and_only_media_filters() -> None:
    async def scenario(server: MastodonServer, http: aiohttp.ClientSession) -> None:
        token = server.add_token("read").token
        remote = fill(server, 1)
        local = fill(server, 1, domain=None)
        media = fill(server, 1, media_descriptions=("photo",))
        original = server.new_status(text="boosted")
        # The reblog itself never shows; the status it carries does.
        server.add_status(server.new_status(text="", reblog=original))
        url = f"{server.base_url}/api/v1/timelines/public"

        def ids(body: list[dict[str, Any]]) -> list[str]:
            return [str(s["id"]) for s in body]

        assert ids((await get(http, f"{url}?local=true", token))[1]) == local
        assert ids((await get(http, f"{url}?remote=1", token))[1]) == [
            original["id"], *media, *remote]
        assert ids((await get(http, f"{url}?only_media=true", token))[1]) == media
        assert ids((await get(http, f"{url}?local=true&remote=true", token))[1]) == [
            original["id"], *media, *local, *remote]

    run(scenario)


def test_auth_as_an_instance_without_public_preview() -> None:
    async def scenario(server: MastodonServer, http: aiohttp.ClientSession) -> None:
        url = f"{server.base_url}/api/v1/timelines/public"
        status, body, _ = await get(http, url)
        assert (status, body) == (422, {"error": "This method requires an authenticated user"})
        status, body, headers = await get(http, url, server.add_token("write").token)
        assert (status, body) == (403, {"error": "This action is outside the authorized scopes"})
        revoked = server.add_token("read", revoked=True).token
        status, body, headers = await get(http, url, revoked)
        assert (status, body) == (401, {"error": "The access token was revoked"})
        assert headers["WWW-Authenticate"].startswith('Bearer realm="Doorkeeper"')
        assert "X-RateLimit-Remaining" in headers

    run(scenario)


def test_open_timeline_needs_no_token() -> None:
    async def scenario(server: MastodonServer, http: aiohttp.ClientSession) -> None:
        ids = fill(server, 2)
        status, body, _ = await get(http, f"{server.base_url}/api/v1/timelines/public")
        assert status == 200 and [s["id"] for s in body] == ids[::-1]
        assert "favourited" not in body[0]

    run(scenario, ServerConfig(local_feed_access="public", remote_feed_access="public"))


def test_rate_limit_headers_count_down_to_a_429() -> None:
    clock = FakeClock(1_700_000_123.5)

    async def scenario(server: MastodonServer, http: aiohttp.ClientSession) -> None:
        token = server.add_token("read").token
        server.limiter.set_budget(3, period=300)
        url = f"{server.base_url}/api/v1/timelines/public"
        seen = []
        for _ in range(3):
            status, _, headers = await get(http, url, token)
            seen.append((status, headers["X-RateLimit-Remaining"]))
        assert seen == [(200, "2"), (200, "1"), (200, "0")]
        # The window is aligned to the epoch: 1_700_000_123 -> reset at 1_700_000_400.
        assert headers["X-RateLimit-Reset"] == "2023-11-14T22:20:00.000000Z"
        status, body, headers = await get(http, url, token)
        assert (status, body) == (429, {"error": "Too many requests"})
        assert headers["X-RateLimit-Limit"] == "3"
        assert headers["X-RateLimit-Remaining"] == "0"
        assert headers["X-RateLimit-Reset"] == "2023-11-14T22:20:00.000000Z"
        clock.now += 300
        assert (await get(http, url, token))[0] == 200

    run(scenario, clock=clock)


def test_default_throttles_are_mastodons() -> None:
    async def scenario(server: MastodonServer, http: aiohttp.ClientSession) -> None:
        token = server.add_token("read").token
        url = f"{server.base_url}/api/v1/timelines/public"
        _, _, headers = await get(http, url, token)
        assert (headers["X-RateLimit-Limit"], headers["X-RateLimit-Remaining"]) == ("300", "299")
        server.limiter.set_budget(300, remaining=1)
        assert (await get(http, url, token))[2]["X-RateLimit-Remaining"] == "0"
        assert (await get(http, url, token))[0] == 429

    run(scenario)


def test_injected_timeline_faults_come_first_then_normal_service() -> None:
    async def scenario(server: MastodonServer, http: aiohttp.ClientSession) -> None:
        token = server.add_token("read").token
        url = f"{server.base_url}/api/v1/timelines/public"
        server.faults.inject("timeline", 429, limit=300)
        server.faults.inject("timeline", 503, times=2)
        server.faults.inject("timeline", 401)
        status, body, headers = await get(http, url, token)
        assert (status, body, headers["X-RateLimit-Remaining"]) == (
            429, {"error": "Too many requests"}, "0")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z",
                            headers["X-RateLimit-Reset"])
        for _ in range(2):
            async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as resp:
                assert resp.status == 503 and resp.content_type == "text/html"
        assert (await get(http, url, token))[:2] == (401, {"error": "The access token is invalid"})
        assert (await get(http, url, token))[0] == 200

    run(scenario)
