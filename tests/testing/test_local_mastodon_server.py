"""The fake Mastodon server's streaming API and instance endpoint, seen by plain aiohttp clients.

Each expectation is what mastodon/mastodon streaming/index.js (and the Rails
services that publish to it) would produce.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from streams.testing.mastodon import MastodonServer, MastodonServerThread, ServerConfig

Scenario = Callable[[MastodonServer, aiohttp.ClientSession], Awaitable[None]]


def run(scenario: Scenario, config: ServerConfig | None = None) -> None:
    async def main() -> None:
        async with MastodonServer(config) as server, aiohttp.ClientSession() as http:
            await asyncio.wait_for(scenario(server, http), timeout=10)

    asyncio.run(main())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def frame(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await ws.receive(timeout=2)
    assert message.type == aiohttp.WSMsgType.TEXT, message
    decoded: dict[str, Any] = json.loads(message.data)
    return decoded


async def nothing_more(ws: aiohttp.ClientWebSocketResponse) -> None:
    with pytest.raises(asyncio.TimeoutError):
        await ws.receive(timeout=0.2)


async def connect(server: MastodonServer, http: aiohttp.ClientSession, token: str,
                  stream: str | None = "public:remote") -> aiohttp.ClientWebSocketResponse:
    query = f"?stream={stream}" if stream else ""
    return await http.ws_connect(f"{server.streaming_url}/api/v1/streaming{query}",
                                 headers=bearer(token))


def test_instance_advertises_its_own_streaming_host() -> None:
    async def scenario(server: MastodonServer, http: aiohttp.ClientSession) -> None:
        async with http.get(f"{server.base_url}/api/v2/instance") as resp:
            assert resp.status == 200
            body = await resp.json()
        assert body["configuration"]["urls"]["streaming"] == f"ws://127.0.0.1:{server.port}"
        assert body["domain"] == "mastodon.example"
        assert resp.headers["X-RateLimit-Limit"] == "300"
        async with http.get(f"{server.base_url}/api/v1/streaming/health") as resp:
            assert (resp.status, await resp.text()) == (200, "OK")

    run(scenario)


@pytest.mark.parametrize("how", ["header", "query", "subprotocol"])
def test_websocket_accepts_the_token_where_mastodon_looks_for_it(how: str) -> None:
    async def scenario(server: MastodonServer, http: aiohttp.ClientSession) -> None:
        token = server.add_token("read").token
        url = f"{server.streaming_url}/api/v1/streaming?stream=public"
        choices: dict[str, dict[str, Any]] = {
            "header": {"headers": bearer(token)},
            "query": {},
            "subprotocol": {"protocols": (token,)},
        }
        options = choices[how]
        if how == "query":
            url += f"&access_token={token}"
        async with http.ws_connect(url, **options) as ws:
            if how == "subprotocol":
                assert ws.protocol == token
            assert server.connected_streams == 1

    run(scenario)


@pytest.mark.parametrize(("token_kind", "message"), [
    ("unknown", "Invalid access token"),
    ("missing", "Missing access token"),
    ("app_only", "Invalid access token"),
    ("revoked", "Invalid access token"),
])
def test_rejected_upgrade_is_a_bare_401(token_kind: str, message: str) -> None:
    async def scenario(server: MastodonServer, http: aiohttp.ClientSession) -> None:
        headers = {
            "unknown": bearer("not-a-token"),
            "missing": {},
            "app_only": bearer(server.add_token("read", app_only=True).token),
            "revoked": bearer(server.add_token("read", revoked=True).token),
        }[token_kind]
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(f"{server.streaming_url}/api/v1/streaming?stream=public",
                                  headers=headers)
        error = refused.value
        assert error.status == 401
        assert error.headers is not None
        assert error.headers["X-Error-Message"] == message
        assert error.headers["Content-Type"] == "text/plain"
        assert error.headers["Content-Length"] == "0"
        assert error.headers["Connection"] == "close"
        assert error.headers["X-Request-Id"]

    run(scenario)


def test_update_edit_and_delete_frames_have_mastodons_exact_shape() -> None:
    async def scenario(server: MastodonServer, http: aiohttp.ClientSession) -> None:
        ws = await connect(server, http, server.add_token("read").token)
        status = server.new_status(text="Grüße <b>", media_descriptions=("a cat",))
        assert await server.publish_status(status) == 1
        raw = await ws.receive(timeout=2)
        assert raw.data.startswith('{"stream":["public:remote"],"event":"update","payload":"{')
        update = json.loads(raw.data)
        assert list(update) == ["stream", "event", "payload"]
        assert isinstance(update["payload"], str)
        payload = json.loads(update["payload"])
        assert payload == status
        assert payload["content"] == "<p>Grüße &lt;b&gt;</p>"
        assert payload["media_attachments"][0]["description"] == "a cat"

        edited = await server.publish_edit(status["id"], text="fixed")
        change = await frame(ws)
        assert change["event"] == "status.update"
        assert json.loads(change["payload"])["edited_at"] == edited["edited_at"] is not None
        assert json.loads(change["payload"])["id"] == status["id"]

        await server.publish_delete(status["id"])
        assert await frame(ws) == {"stream": ["public:remote"], "event": "delete",
                                   "payload": status["id"]}
        await ws.close()

    run(scenario)


def test_statuses_reach_only_the_streams_mastodon_publishes_them_to() -> None:
    async def scenario(server: MastodonServer, http: aiohttp.ClientSession) -> None:
        token = server.add_token("read").token
        remote = await connect(server, http, token, "public:remote")
        local = await connect(server, http, token, "public:local")
        everything = await connect(server, http, token, "public")
        from_remote = server.new_status(text="far away")
        from_local = server.new_status(text="at home", domain=None)
        reply = server.new_status(text="@x hi", in_reply_to=server.new_status(username="x"))
        unlisted = server.new_status(text="quiet", visibility="unlisted")
        for status in (from_remote, from_local, reply, unlisted):
            await server.publish_status(status)
        assert json.loads((await frame(remote))["payload"])["id"] == from_remote["id"]
        assert json.loads((await frame(local))["payload"])["id"] == from_local["id"]
        assert [json.loads((await frame(everything))["payload"])["id"] for _ in range(2)] == [
            from_remote["id"], from_local["id"]]
        for ws in (remote, local, everything):
            await nothing_more(ws)

    run(scenario)


def test_subscribing_over_the_socket_and_its_errors() -> None:
    async def scenario(server: MastodonServer, http: aiohttp.ClientSession) -> None:
        ws = await connect(server, http, server.add_token("write:reports").token, stream=None)
        await ws.send_str(json.dumps({"type": "subscribe", "stream": "public:remote"}))
        await ws.send_str(json.dumps({"type": "subscribe", "stream": "nonsense"}))
        assert await frame(ws) == {"error": "Access token does not have the required scopes",
                                   "status": 401}
        await ws.send_str(json.dumps({"type": "subscribe", "stream": "hashtag"}))
        assert await frame(ws) == {"error": "Missing tag name parameter", "status": 400}
        status = server.new_status()
        await server.publish_status(status)
        assert (await frame(ws))["stream"] == ["public:remote"]
        await ws.send_str(json.dumps({"type": "unsubscribe", "stream": "public:remote"}))
        await asyncio.sleep(0.05)
        assert await server.publish_status(server.new_status()) == 0
        await ws.send_bytes(b"\x00")
        closing = await ws.receive(timeout=2)
        assert closing.type == aiohttp.WSMsgType.CLOSE and closing.data == 1003

    run(scenario)


def test_unknown_stream_with_a_read_token() -> None:
    async def scenario(server: MastodonServer, http: aiohttp.ClientSession) -> None:
        ws = await connect(server, http, server.add_token("read").token, stream="nonsense")
        assert await frame(ws) == {"error": "Unknown stream type", "status": 400}

    run(scenario)


def test_public_streams_can_be_made_to_demand_read_statuses() -> None:
    async def scenario(server: MastodonServer, http: aiohttp.ClientSession) -> None:
        ws = await connect(server, http, server.add_token("write").token)
        assert await frame(ws) == {"error": "Access token does not have the required scopes",
                                   "status": 401}
        ok = await connect(server, http, server.add_token("read:statuses").token)
        assert await server.publish_status(server.new_status()) == 1
        assert (await frame(ok))["event"] == "update"

    run(scenario, ServerConfig(public_streams_need_scope=True))


@pytest.mark.parametrize("abrupt", [False, True])
def test_disconnect_hook(abrupt: bool) -> None:
    async def scenario(server: MastodonServer, http: aiohttp.ClientSession) -> None:
        ws = await connect(server, http, server.add_token("read").token)
        assert await server.disconnect_streams(abrupt=abrupt) == 1
        message = await ws.receive(timeout=2)
        if abrupt:
            assert message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
            assert ws.close_code in (None, 1006)
        else:
            assert message.type == aiohttp.WSMsgType.CLOSE
            assert message.data == 1001
        await asyncio.sleep(0.05)
        assert server.connected_streams == 0

    run(scenario)


def test_pausing_a_shared_port_answers_503_then_recovers() -> None:
    async def scenario(server: MastodonServer, http: aiohttp.ClientSession) -> None:
        token = server.add_token("read").token
        await server.pause_streaming(0.2)
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await connect(server, http, token)
        assert refused.value.status == 503
        await asyncio.sleep(0.3)
        async with await connect(server, http, token):
            assert server.connected_streams == 1

    run(scenario)


def test_pausing_a_separate_streaming_port_refuses_connections() -> None:
    async def scenario(server: MastodonServer, http: aiohttp.ClientSession) -> None:
        assert server.streaming_port != server.port
        async with http.get(f"{server.base_url}/api/v2/instance") as resp:
            streaming = (await resp.json())["configuration"]["urls"]["streaming"]
        assert streaming == f"ws://127.0.0.1:{server.streaming_port}"
        async with http.get(f"{server.base_url}/api/v1/streaming",
                            allow_redirects=False) as resp:
            assert resp.status == 301
            assert resp.headers["Location"].startswith(f"http://127.0.0.1:{server.streaming_port}")
        token = server.add_token("read").token
        await server.pause_streaming()
        with pytest.raises(aiohttp.ClientConnectorError):
            await connect(server, http, token)
        await server.resume_streaming()
        async with await connect(server, http, token):
            assert server.connected_streams == 1

    run(scenario, ServerConfig(separate_streaming_port=True))


def test_chosen_languages_filter_public_updates() -> None:
    async def scenario(server: MastodonServer, http: aiohttp.ClientSession) -> None:
        ws = await connect(server, http, server.add_token("read", chosen_languages=["de"]).token)
        await server.publish_status(server.new_status(language="en"))
        german = server.new_status(language="de")
        await server.publish_status(german)
        assert json.loads((await frame(ws))["payload"])["id"] == german["id"]

    run(scenario)


def test_threaded_server_for_synchronous_tests() -> None:
    with MastodonServerThread() as running:
        token = running.server.add_token("read").token
        status = running.server.new_status(text="sync")
        assert running.publish_status(status) == 0
        request = urllib.request.Request(f"{running.base_url}/api/v1/timelines/public",
                                         headers=bearer(token))
        with urllib.request.urlopen(request, timeout=5) as resp:
            assert [s["id"] for s in json.load(resp)] == [status["id"]]
