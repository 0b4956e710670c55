"""The fake Mastodon server takes any Status dict: the bundled samples and the docs example."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp

from streams.testing.mastodon import MastodonServer
from streams.testing.mastodon.entities import VIEWER_FIELDS

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "streams" / "data" / "sample_statuses.jsonl"
EXAMPLE = ROOT / "tests" / "data" / "mastodon_status_example.json"


def test_bundled_samples_and_the_documented_example_stream_and_page() -> None:
    samples = [json.loads(line) for line in SAMPLES.read_text().splitlines() if line.strip()]
    example: dict[str, Any] = json.loads(EXAMPLE.read_text())

    async def scenario() -> None:
        async with MastodonServer() as server, aiohttp.ClientSession() as http:
            token = server.add_token("read")
            url = f"{server.streaming_url}/api/v1/streaming?stream=public:local"
            async with http.ws_connect(url, headers={"Authorization": f"Bearer {token.token}"},
                                       ) as ws:
                # The example's author has a bare `acct`, so this instance treats it as local.
                assert await server.publish_status(example) == 1
                payload = json.loads(json.loads((await ws.receive(timeout=2)).data)["payload"])
            assert payload == {k: v for k, v in example.items() if k not in VIEWER_FIELDS}
            for status in samples:
                server.add_status(status)
            async with http.get(f"{server.base_url}/api/v1/timelines/public?limit=40&remote=1",
                                headers={"Authorization": f"Bearer {token.token}"}) as resp:
                page = await resp.json()
            # Storing a reblog stores the status it carries, which the timeline does show.
            carried = [s["reblog"] for s in samples if s["reblog"]]
            known = {s["id"]: s for s in samples + carried}.values()
            remote = [s for s in known if "@" in s["account"]["acct"]
                      and not s["reblog"] and not s["in_reply_to_id"]]
            wanted = sorted(remote, key=lambda s: int(s["id"]), reverse=True)[:40]
            assert [s["id"] for s in page] == [s["id"] for s in wanted]

    asyncio.run(asyncio.wait_for(scenario(), 10))
