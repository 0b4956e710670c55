"""The streaming API's websocket side, following mastodon/mastodon streaming/index.js.

* Upgrade: the token comes from ``Authorization`` (``/^Bearer /`` stripped),
  else the ``access_token`` query parameter, else ``Sec-WebSocket-Protocol``
  (``accountFromRequest``).  It must be a live user token.  A refused upgrade
  is answered with a bare HTTP response — ``Connection: close``,
  ``Content-Type: text/plain``, ``Content-Length: 0``, ``X-Request-Id`` and
  ``X-Error-Message`` — and the socket is closed (``server.on('upgrade')``).
* After the upgrade: ``?stream=`` subscribes at once; JSON text frames
  ``{"type":"subscribe"|"unsubscribe","stream":...}`` (plus ``tag``/``list``)
  manage subscriptions; refusals are sent as ``{"error":...,"status":...}``;
  binary frames close the socket with 1003.
* Each event is one text frame ``{"stream":[name],"event":...,"payload":...}``
  where an object payload is JSON-encoded into a string and a delete's payload
  is the bare status id string (``streamToWs``, ``transmit``).
* ``update``/``status.update`` on public and hashtag streams are dropped when
  the user's chosen languages exclude the status language (``streamFrom``).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from streams.testing.mastodon.channels import Channel, SubscriptionError, check_scopes, resolve
from streams.testing.mastodon.entities import compact_json
from streams.testing.mastodon.state import InstanceState, Token


@dataclass(eq=False)
class Session:
    """One connected websocket and its subscriptions (keyed by joined channel ids)."""

    ws: web.WebSocketResponse
    request: web.Request
    token: Token
    subscriptions: dict[str, Channel] = field(default_factory=dict)


def _reject(status: int, message: str, request_id: str) -> web.Response:
    response = web.Response(status=status, headers={
        "Content-Type": "text/plain",
        "X-Request-Id": request_id,
        "X-Error-Message": message,
    })
    response.force_close()
    return response


class StreamingHub:
    """Holds the connected sessions and fans events out to them."""

    def __init__(self, state: InstanceState, *, public_needs_scope: bool = False,
                 heartbeat: float | None = 30.0) -> None:
        self.state = state
        self.public_needs_scope = public_needs_scope
        self.heartbeat = heartbeat
        self.sessions: set[Session] = set()
        self.refusing: int | None = None
        self.attempts: list[dict[str, Any]] = []

    # -- connection -------------------------------------------------------
    @staticmethod
    def _token_for(request: web.Request) -> str | None:
        header = request.headers.get("Authorization")
        if header:
            return header[7:] if header.startswith("Bearer ") else header
        return request.query.get("access_token") or request.headers.get("Sec-WebSocket-Protocol")

    def _authenticate(self, request: web.Request) -> tuple[Token | None, str]:
        raw = self._token_for(request)
        if not raw:
            return None, "Missing access token"
        token = self.state.find_token(raw)
        # accountFromToken joins oauth_access_tokens to users, skipping revoked
        # tokens, so app-only and revoked tokens are both "Invalid access token".
        if token is None or token.revoked or token.account_id is None:
            return None, "Invalid access token"
        return token, ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """aiohttp handler for websocket upgrades under /api/v1/streaming."""
        request_id = str(uuid.uuid4())
        attempt: dict[str, Any] = {"path": request.path, "query": dict(request.query),
                                   "headers": dict(request.headers)}
        self.attempts.append(attempt)
        if self.refusing is not None:
            attempt["outcome"] = self.refusing
            return _reject(self.refusing, "Service Unavailable", request_id)
        token, error = self._authenticate(request)
        if token is None:
            attempt["outcome"] = 401
            return _reject(401, error, request_id)
        # The `ws` library behind Mastodon's server accepts the first offered subprotocol.
        offered = request.headers.get("Sec-WebSocket-Protocol", "")
        protocols = (offered.split(",")[0].strip(),) if offered else ()
        ws = web.WebSocketResponse(protocols=protocols, heartbeat=self.heartbeat)
        ws.headers["X-Request-Id"] = request_id
        await ws.prepare(request)
        attempt["outcome"] = 101
        session = Session(ws, request, token)
        self.sessions.add(session)
        try:
            stream = request.query.get("stream")
            if stream:
                await self.subscribe(session, stream, dict(request.query))
            await self._serve(session)
        finally:
            self.sessions.discard(session)
        return ws

    async def _serve(self, session: Session) -> None:
        async for message in session.ws:
            if message.type == WSMsgType.BINARY:
                await session.ws.close(
                    code=1003,
                    message=b"The mastodon streaming server does not support binary messages")
                return
            if message.type != WSMsgType.TEXT:
                continue
            try:
                data = json.loads(message.data)
            except ValueError:
                continue
            if not isinstance(data, dict):
                continue
            await self._command(session, data)

    async def _command(self, session: Session, data: dict[str, Any]) -> None:
        kind = data.pop("type", None)
        stream = data.pop("stream", None)
        if isinstance(stream, list):
            stream = stream[0] if stream else None
        if kind == "subscribe":
            await self.subscribe(session, stream, data)
        elif kind == "unsubscribe":
            await self.unsubscribe(session, stream, data)

    # -- subscriptions ----------------------------------------------------
    async def subscribe(self, session: Session, name: Any, params: dict[str, Any]) -> None:
        """``subscribeWebsocketToChannel``: scopes first, then the channel lookup."""
        try:
            check_scopes(session.token, str(name), public_needs_scope=self.public_needs_scope)
            channel = resolve(session.token, str(name), params)
        except SubscriptionError as exc:
            await self._send_error(session, {"error": exc.message, "status": exc.status})
            return
        session.subscriptions.setdefault(";".join(channel.ids), channel)

    async def unsubscribe(self, session: Session, name: Any, params: dict[str, Any]) -> None:
        try:
            channel = resolve(session.token, str(name), params)
        except SubscriptionError:
            await self._send_error(session, {"error": "Error unsubscribing from channel"})
            return
        session.subscriptions.pop(";".join(channel.ids), None)

    async def _send_error(self, session: Session, body: dict[str, Any]) -> None:
        if not session.ws.closed:
            await session.ws.send_str(compact_json(body))

    # -- fan-out ----------------------------------------------------------
    @staticmethod
    def _wanted(session: Session, channel: Channel, event: str, payload: Any) -> bool:
        if not channel.needs_filtering or event not in ("update", "status.update"):
            return True
        languages = session.token.chosen_languages
        language = payload.get("language") if isinstance(payload, dict) else None
        return not (isinstance(languages, list) and language is not None
                    and language not in languages)

    async def broadcast(self, channel_ids: list[str], event: str, payload: Any) -> int:
        """Publish ``event`` to every subscription listening on one of ``channel_ids``.

        Like Redis pub/sub, each channel id is delivered separately, so a socket
        subscribed to both ``public`` and ``public:remote`` gets two frames.
        Returns the number of frames sent.
        """
        encoded = payload if isinstance(payload, str) else compact_json(payload)
        sent = 0
        for channel_id in channel_ids:
            for session in list(self.sessions):
                for channel in list(session.subscriptions.values()):
                    if channel_id not in channel.ids or session.ws.closed:
                        continue
                    if not self._wanted(session, channel, event, payload):
                        continue
                    frame = {"stream": list(channel.stream), "event": event, "payload": encoded}
                    await session.ws.send_str(compact_json(frame))
                    sent += 1
        return sent

    async def disconnect_all(self, *, abrupt: bool = False, code: int = 1001) -> int:
        """Drop every socket: a close frame with ``code``, or a TCP abort when ``abrupt``."""
        sessions = list(self.sessions)
        for session in sessions:
            transport = session.request.transport
            if abrupt and transport is not None:
                transport.abort()
            else:
                await session.ws.close(code=code)
        return len(sessions)
