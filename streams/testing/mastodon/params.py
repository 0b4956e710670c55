"""Request parameters the way Rails hands them to Mastodon's controllers.

Rails merges query-string and body parameters (the body wins), turns
``key[]=a&key[]=b`` into an array, and parses JSON bodies sent with
``Content-Type: application/json``.  Strong parameters then drop values of
the wrong shape: ``permit(status_ids: [])`` ignores a scalar ``status_ids``
and ``permit(:comment)`` ignores an array ``comment``.  Booleans are cast with
ActiveModel::Type::Boolean (mastodon/mastodon app/controllers/application_controller.rb
``truthy_param?``).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from multidict import MultiMapping

#: ActiveModel::Type::Boolean::FALSE_VALUES (as they can arrive over HTTP/JSON).
_FALSE_VALUES = {"0", "f", "F", "false", "FALSE", "off", "OFF"}

Params = dict[str, Any]


class BadJSON(ValueError):
    """The body claimed to be JSON but did not parse (Rails answers 400)."""


def _fold(pairs: MultiMapping[Any], into: Params) -> None:
    for raw_key, value in pairs.items():
        if raw_key.endswith("[]"):
            key = raw_key[:-2]
            existing = into.get(key)
            into[key] = [*existing, value] if isinstance(existing, list) else [value]
        else:
            into[raw_key] = value


async def read_params(request: web.Request) -> Params:
    """Query parameters overlaid with the form or JSON body, as Rails' ``params``."""
    merged: Params = {}
    _fold(request.query, merged)
    if request.body_exists:
        if request.content_type == "application/json":
            raw = await request.read()
            try:
                body = json.loads(raw) if raw.strip() else {}
            except ValueError as exc:
                raise BadJSON(str(exc)) from exc
            if isinstance(body, dict):
                merged.update(body)
        else:
            _fold(await request.post(), merged)
    return merged


def permitted_scalar(params: Params, key: str) -> Any:
    """``params.permit(key)[key]``: strings, numbers and booleans only."""
    value = params.get(key)
    if isinstance(value, str | int | float | bool):
        return value
    return None


def permitted_array(params: Params, key: str) -> list[Any]:
    """``Array(params.permit(key: [])[key])``: an array of scalars, or empty."""
    value = params.get(key)
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str | int | float | bool)]


def cast_boolean(value: Any) -> bool | None:
    """ActiveModel::Type::Boolean#cast: None for blank, False for false-ish, else True."""
    if value is None or value == "":
        return None
    return not (value is False or value == 0 or (isinstance(value, str) and value in _FALSE_VALUES))


def truthy(params: Params, key: str) -> bool:
    """Mastodon's ``truthy_param?(key)``."""
    return bool(cast_boolean(params.get(key)))


def presence(value: Any) -> Any:
    """Ruby's ``Object#presence``: None for nil, blank strings and empty arrays."""
    if value is None or (isinstance(value, str | list) and len(value) == 0):
        return None
    if isinstance(value, str) and not value.strip():
        return None
    return value


def ruby_to_i(value: Any) -> int:
    """Ruby's ``String#to_i``: leading integer digits, 0 when there are none."""
    text = str(value).strip()
    sign = -1 if text.startswith("-") else 1
    digits = ""
    for char in text.lstrip("+-"):
        if not char.isdigit():
            break
        digits += char
    return sign * int(digits) if digits else 0
