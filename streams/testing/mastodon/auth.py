"""OAuth token checks for the REST API, answering as Doorkeeper and Mastodon do.

* Token lookup: Doorkeeper's default ``access_token_methods`` —
  ``Authorization: Bearer`` (case-insensitive scheme), then the
  ``access_token`` and ``bearer_token`` parameters
  (doorkeeper-gem/doorkeeper lib/doorkeeper/oauth/token.rb).  An unknown token
  string finds no token at all.
* ``doorkeeper_authorize!(*scopes)`` (lib/doorkeeper/rails/helpers.rb): no
  token or a revoked one -> 401 with ``WWW-Authenticate``
  (lib/doorkeeper/oauth/invalid_token_response.rb); a token holding none of
  the scopes -> 403 (lib/doorkeeper/oauth/forbidden_token_response.rb).  The
  JSON bodies are Mastodon's overrides in app/controllers/api/base_controller.rb.
* ``authorize_if_got_token!`` only runs the check when a token was found.
* ``require_user!`` (app/controllers/api/base_controller.rb): a token without
  a user -> 422 "This method requires an authenticated user".
"""

from __future__ import annotations

import re

from aiohttp import web

from streams.testing.mastodon.entities import compact_json
from streams.testing.mastodon.params import Params
from streams.testing.mastodon.state import InstanceState, Token

_BEARER = re.compile(r"^Bearer ", re.IGNORECASE)

INVALID_TOKEN = "The access token is invalid"
REVOKED_TOKEN = "The access token was revoked"
OUTSIDE_SCOPES = "This action is outside the authorized scopes"
NEEDS_USER = "This method requires an authenticated user"


def json_response(
    status: int, body: object, headers: dict[str, str] | None = None
) -> web.Response:
    """A Rails ``render json:`` response (``application/json; charset=utf-8``)."""
    response = web.Response(status=status, text=compact_json(body), headers=headers)
    response.content_type = "application/json"
    response.charset = "utf-8"
    return response


def token_string(request: web.Request, params: Params) -> str | None:
    """The token the request presents, by Doorkeeper's default lookup order."""
    header = request.headers.get("Authorization", "")
    if _BEARER.match(header):
        return _BEARER.sub("", header, count=1)
    for key in ("access_token", "bearer_token"):
        value = params.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def find_token(state: InstanceState, request: web.Request, params: Params) -> Token | None:
    """``doorkeeper_token``: the stored token for the presented string, if any."""
    return state.find_token(token_string(request, params))


def _unauthorized(token: Token | None) -> web.Response:
    description = REVOKED_TOKEN if token is not None and token.revoked else INVALID_TOKEN
    headers = {
        "Cache-Control": "no-store",
        "Pragma": "no-cache",
        "WWW-Authenticate": (
            f'Bearer realm="Doorkeeper", error="invalid_token", error_description="{description}"'
        ),
    }
    return json_response(401, {"error": description}, headers)


def _forbidden() -> web.Response:
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    return json_response(403, {"error": OUTSIDE_SCOPES}, headers)


def doorkeeper_authorize(token: Token | None, *scopes: str) -> web.Response | None:
    """None when ``token`` is usable and holds any of ``scopes``, else the error response."""
    if token is None or token.revoked:
        return _unauthorized(token)
    if not token.scopes.intersection(scopes):
        return _forbidden()
    return None


def authorize_if_got_token(token: Token | None, *scopes: str) -> web.Response | None:
    """Mastodon's ``authorize_if_got_token!``."""
    return doorkeeper_authorize(token, *scopes) if token is not None else None


def current_account_id(token: Token | None) -> str | None:
    """``current_user&.account_id``: only a usable token with a user has one."""
    if token is None or token.revoked:
        return None
    return token.account_id


def require_user(token: Token | None) -> web.Response | None:
    """Mastodon's ``require_user!``."""
    if current_account_id(token) is None:
        return json_response(422, {"error": NEEDS_USER})
    return None
