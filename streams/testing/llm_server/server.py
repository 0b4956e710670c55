"""A local OpenAI-compatible chat-completions server for tests and benchmarks.

It reads the prompt format of ``streams.llm.prompt``, scores every item with the lexicon (so its
answers are meaningful and reproducible) and answers the way the OpenAI API does, token counts
included, counted with o200k_base exactly as the client-side limiter estimates them. Faults are
injected per ``FaultConfig``, set at start, changed at runtime (``LocalLLMServer.config.update`` or
``POST /_faults``, where ``{"outage_s": 60}`` makes every request fail for 60 s); ``GET /_stats``
says what happened.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import random
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web

from streams.llm.lexicon import score_text
from streams.llm.tokens import count_chat_tokens, count_tokens
from streams.testing.llm_server.faults import (
    HTTP_FAULTS,
    FaultConfig,
    FaultKind,
    ReplyContent,
    choose_fault,
    faulty_reply,
    good_reply,
)
from streams.testing.llm_server.limits import Admission, RateLimits

_SHUTDOWN_TIMEOUT_S: Final = 1.0


@dataclass
class FakeStats:
    requests: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    items: int = 0
    #: 429s from the rpm/tpm limits (not injected faults).
    throttled: int = 0
    #: Tokens admitted against the tpm limit: prompt plus max_tokens, as OpenAI counts them.
    charged_tokens: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "throttled": self.throttled,
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "faults": dict(sorted(self.faults.items())),
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "items": self.items,
            "charged_tokens": self.charged_tokens,
        }


class _Refused(Exception):
    """Ends a request with an OpenAI-style error response."""

    def __init__(self, response: web.Response) -> None:
        self.response = response


class LocalLLMServer:
    """A running fake server. Create it with :func:`start_local_llm_server`."""

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self.stats = FakeStats()
        self.base_url = ""
        self._rng = random.Random(config.seed)
        self._seed = config.seed
        self._closing = asyncio.Event()
        self._limits = RateLimits(config.rpm_limit, config.tpm_limit)
        self._runner: web.AppRunner | None = None
        self._completions = 0

    async def _start(self, host: str, port: int) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat_completions)
        app.router.add_get("/_stats", self._get_stats)
        app.router.add_delete("/_stats", self._reset_stats)
        app.router.add_get("/_faults", self._get_faults)
        app.router.add_post("/_faults", self._post_faults)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT_S)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.base_url = f"http://{bound_host}:{bound_port}/v1"

    async def close(self) -> None:
        self._closing.set()  # wakes TIMEOUT faults, so shutdown does not wait them out
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> LocalLLMServer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def reset_stats(self) -> None:
        self.stats = FakeStats()

    # --- control endpoints -------------------------------------------------------------

    async def _get_stats(self, request: web.Request) -> web.Response:
        # With the budget as a response's x-ratelimit-* headers would give it now.
        return web.json_response({**self.stats.to_json(), "budget": self._limits.headers()})

    async def _reset_stats(self, request: web.Request) -> web.Response:
        self.reset_stats()
        return web.json_response(self.stats.to_json())

    async def _get_faults(self, request: web.Request) -> web.Response:
        return web.json_response(self.config.to_json())

    async def _post_faults(self, request: web.Request) -> web.Response:
        try:
            changes = await request.json()
            if not isinstance(changes, dict):
                raise ValueError("send a JSON object of fault settings")
            if "outage_s" in changes:  # a window from now, on this server's clock
                changes["outage_until"] = time.monotonic() + float(changes.pop("outage_s"))
            self.config.update(changes)
        except (ValueError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(self.config.to_json())

    # --- the API -----------------------------------------------------------------------

    async def _chat_completions(self, request: web.Request) -> web.Response:
        self.stats.requests += 1
        try:
            response = await self._answer(request)
        except _Refused as refused:
            response = refused.response
        response.headers.update(self._limits.headers())
        self.stats.by_status[response.status] += 1
        return response

    async def _answer(self, request: web.Request) -> web.Response:
        self._check_key(request)
        body = await _json_body(request)
        model = self._check_model(body)
        self._check_response_format(body)
        items = _prompt_items(body)
        self._check_rate_limits(body, model)
        if self.config.latency_ms:
            await asyncio.sleep(self.config.latency_ms / 1000)
        fault = self._next_fault()
        if fault is not None and fault in HTTP_FAULTS:
            response = await self._http_fault(fault)
            if response is not None:
                return response
            fault = None  # a hang the client sat out ends in a good reply
        rows = [(item_id, score_text(text)) for item_id, text in items]
        reply = good_reply(rows) if fault is None else faulty_reply(fault, rows, self._rng)
        self.stats.items += len(rows)
        return self._completion(body, model, reply)

    def _next_fault(self) -> FaultKind | None:
        if self._seed != self.config.seed:  # a new seed replays from its start
            self._seed = self.config.seed
            self._rng = random.Random(self._seed)
        fault = choose_fault(self.config, self._rng, time.monotonic())
        if fault is not None:
            self.stats.faults[fault.value] += 1
        return fault

    def _check_key(self, request: web.Request) -> None:
        expected = self.config.api_key
        if expected is not None and request.headers.get("Authorization") != f"Bearer {expected}":
            message = "Incorrect API key provided."
            raise _Refused(_error(401, message, "invalid_request_error", "invalid_api_key"))

    def _check_model(self, body: Mapping[str, Any]) -> str:
        model = body.get("model")
        if not isinstance(model, str):
            raise _Refused(_error(400, "you must provide a model parameter", param="model"))
        known = self.config.models
        if known is not None and model not in known:
            message = f"The model `{model}` does not exist or you do not have access to it."
            raise _Refused(_error(404, message, "invalid_request_error", "model_not_found"))
        return model

    def _check_response_format(self, body: Mapping[str, Any]) -> None:
        wanted = body.get("response_format")
        schema = isinstance(wanted, dict) and wanted.get("type") == "json_schema"
        if self.config.reject_json_schema and schema:
            message = (
                "Invalid parameter: 'response_format' of type 'json_schema' is not "
                "supported with this model."
            )
            raise _Refused(_error(400, message, "invalid_request_error", param="response_format"))

    def _check_rate_limits(self, body: Mapping[str, Any], model: str) -> None:
        config = self.config
        if (self._limits.rpm, self._limits.tpm) != (config.rpm_limit, config.tpm_limit):
            self._limits = RateLimits(config.rpm_limit, config.tpm_limit)
        # Admission charges what the reply may cost, as OpenAI does: unused max_tokens still
        # count against the minute's limit.
        max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
        requested = count_chat_tokens(body["messages"])
        requested += max_tokens if isinstance(max_tokens, int) else 0
        admission = self._limits.admit(requested)
        if not admission.admitted:
            self.stats.throttled += 1
            raise _Refused(_throttled(admission, model, requested, self._limits))
        self.stats.charged_tokens += requested

    async def _http_fault(self, fault: FaultKind) -> web.Response | None:
        if fault is FaultKind.RATE_LIMIT:
            wait = self.config.retry_after_s
            headers = {
                "retry-after": str(max(1, math.ceil(wait))),
                "retry-after-ms": str(round(wait * 1000)),
            }
            message = "Rate limit reached for requests per min (RPM). Please try again later."
            return _error(429, message, "requests", "rate_limit_exceeded", headers=headers)
        if fault is FaultKind.QUOTA_EXHAUSTED:
            message = "You exceeded your current quota, please check your plan and billing "
            message += "details."
            return _error(429, message, "insufficient_quota", "insufficient_quota")
        if fault is FaultKind.SERVER_ERROR:
            return _error(500, "The server had an error while processing your request.")
        if fault is FaultKind.BAD_GATEWAY:
            html = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
            return web.Response(status=502, text=html, content_type="text/html")
        if fault is FaultKind.UNAVAILABLE:
            return _error(503, "The engine is currently overloaded, please try again later.")
        # TIMEOUT: keep the client waiting past its timeout; answer if it is still there.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), self.config.hang_s)
        return None

    def _completion(self, body: Mapping[str, Any], model: str, reply: ReplyContent) -> web.Response:
        prompt_tokens = count_chat_tokens(body["messages"])
        completion_tokens = count_tokens(reply.content or reply.refusal or "")
        self.stats.prompt_tokens += prompt_tokens
        self.stats.completion_tokens += completion_tokens
        self._completions += 1
        message = {"role": "assistant", "content": reply.content, "refusal": reply.refusal}
        payload = {
            "id": f"chatcmpl-fake{self._completions:08d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_fake",
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": reply.finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                # Our prompts stay under the 1024-token prefix OpenAI needs before caching.
                "prompt_tokens_details": {"cached_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0},
            },
        }
        return web.json_response(payload)


def _error(
    status: int,
    message: str,
    kind: str = "server_error",
    code: str | None = None,
    *,
    param: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return web.json_response(body, status=status, headers=headers)


def _throttled(
    admission: Admission, model: str, requested: int, limits: RateLimits
) -> web.Response:
    if admission.too_large:
        message = (
            f"Request too large for {model} on tokens per min (TPM): Limit {limits.tpm}, "
            f"Requested {requested}."
        )
        return _error(429, message, "tokens", "rate_limit_exceeded")
    wait = admission.retry_after_s
    message = f"Rate limit reached for {model}. Please try again in {wait * 1000:.0f}ms."
    headers = {
        "retry-after": str(max(1, math.ceil(wait))),
        "retry-after-ms": str(math.ceil(wait * 1000)),
    }
    return _error(429, message, "tokens", "rate_limit_exceeded", headers=headers)


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise _Refused(_error(400, "We could not parse the JSON body of your request.")) from None
    if not isinstance(body, dict):
        raise _Refused(_error(400, "The request body must be a JSON object."))
    if body.get("stream"):
        raise _Refused(_error(400, "The fake server does not stream.", param="stream"))
    if not isinstance(body.get("messages"), list):
        raise _Refused(_error(400, "you must provide a messages parameter", param="messages"))
    return body


def _prompt_items(body: Mapping[str, Any]) -> list[tuple[int, str]]:
    """(id, text) of each post in the last user message, in the format prompt.py writes."""
    users = [m for m in body["messages"] if isinstance(m, dict) and m.get("role") == "user"]
    try:
        posts = json.loads(users[-1]["content"])
        items = [(post["id"], post["text"]) for post in posts]
    except (IndexError, KeyError, TypeError, ValueError):
        raise _Refused(
            _error(400, "the last user message is not a streams prompt (a JSON array of posts)")
        ) from None
    if not items or not all(isinstance(i, int) and isinstance(t, str) for i, t in items):
        raise _Refused(_error(400, "each post needs an integer id and a text"))
    return items


async def start_local_llm_server(
    host: str = "127.0.0.1", port: int = 0, **config: Any
) -> LocalLLMServer:
    """Start a server on ``host:port`` (0: any free port); ``config``: FaultConfig fields."""
    fault_config = FaultConfig()
    fault_config.update(config)
    fake = LocalLLMServer(fault_config)
    await fake._start(host, port)
    return fake


async def _serve(args: argparse.Namespace) -> None:
    config: dict[str, Any] = {
        "fault_rate": args.fault_rate,
        "latency_ms": args.latency_ms,
        "seed": args.seed,
        "api_key": args.api_key,
        "rpm_limit": args.rpm_limit,
        "tpm_limit": args.tpm_limit,
    }
    fake = await start_local_llm_server(args.host, args.port, **config)
    print(f"local LLM at {fake.base_url} (faults: POST /_faults, stats: GET /_stats)", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await fake.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A local OpenAI-compatible LLM server for tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8808)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--api-key", default=None, help="answer 401 to any other key")
    parser.add_argument("--rpm-limit", type=int, default=None, help="requests per minute")
    parser.add_argument("--tpm-limit", type=int, default=None, help="tokens per minute")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
