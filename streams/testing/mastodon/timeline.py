"""The public timeline's selection, paging and Link header.

* Which statuses: mastodon/mastodon app/models/public_feed.rb — public
  visibility, no reblogs, no replies to other accounts, no silenced or
  suspended authors, ``local``/``remote`` (each only when the other is not
  set), ``only_media``, and the viewer's chosen languages.
* Paging: app/models/concerns/paginable.rb ``to_a_paginated_by_id`` — with
  ``min_id`` the statuses just above it (ascending, then reversed); otherwise
  the newest below ``max_id`` and above ``since_id``.  Always newest first.
* ``limit``: app/controllers/api/base_controller.rb ``limit_param`` —
  ``[limit.to_i.abs, 2 * 20].min``, default 20.
* Link header: app/controllers/concerns/api/pagination.rb and
  app/controllers/api/v1/timelines/base_controller.rb — ``rel="next"`` with
  ``max_id`` of the last status, ``rel="prev"`` with ``min_id`` of the first,
  carrying the permitted ``local``, ``remote``, ``limit``, ``only_media``;
  Rails' ``Hash#to_query`` sorts the query keys.  No header for an empty page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote_plus

from streams.testing.mastodon.entities import JSONDict
from streams.testing.mastodon.params import Params, ruby_to_i, truthy
from streams.testing.mastodon.state import InstanceState, StoredStatus, is_local

DEFAULT_STATUSES_LIMIT = 20
PERMITTED_PARAMS = ("local", "remote", "limit", "only_media")


@dataclass(frozen=True)
class FeedScope:
    local_only: bool
    remote_only: bool
    only_media: bool
    languages: list[str] | None


def limit_param(params: Params) -> int:
    """``limit_param(DEFAULT_STATUSES_LIMIT)``."""
    if params.get("limit") is None:
        return DEFAULT_STATUSES_LIMIT
    return min(abs(ruby_to_i(params["limit"])), DEFAULT_STATUSES_LIMIT * 2)


def _id(params: Params, key: str) -> int | None:
    value = params.get(key)
    if value is None or value == "":
        return None
    return ruby_to_i(value)


def _selected(state: InstanceState, stored: StoredStatus, scope: FeedScope) -> bool:
    status = stored.data
    account = status["account"]
    flags = state.flags_of(str(account["id"]))
    reply_to_other = bool(status.get("in_reply_to_id")) and (
        status.get("in_reply_to_account_id") != account["id"])
    checks = (
        not stored.deleted,
        status.get("visibility") == "public",
        not status.get("reblog"),
        not reply_to_other,
        not flags.silenced and not flags.suspended,
        not scope.local_only or is_local(account),
        not scope.remote_only or not is_local(account),
        not scope.only_media or bool(status.get("media_attachments")),
        scope.languages is None or status.get("language") in scope.languages,
    )
    return all(checks)


def page(state: InstanceState, params: Params, scope: FeedScope) -> list[JSONDict]:
    """One page of the public timeline, newest first."""
    limit = limit_param(params)
    max_id, since_id, min_id = _id(params, "max_id"), _id(params, "since_id"), _id(params, "min_id")
    candidates = [s for s in state.snapshot() if _selected(state, s, scope)]
    if min_id is not None:
        ascending = [s for s in reversed(candidates) if int(s.data["id"]) > min_id
                     and (max_id is None or int(s.data["id"]) < max_id)]
        chosen = list(reversed(ascending[:limit]))
    else:
        chosen = [s for s in candidates if (max_id is None or int(s.data["id"]) < max_id)
                  and (since_id is None or int(s.data["id"]) > since_id)][:limit]
    return [stored.data for stored in chosen]


def _to_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Rails' ``Hash#to_query``: CGI-escaped ``key=value`` pairs sorted as strings."""
    encoded = [f"{quote_plus(key, safe='')}={quote_plus(value, safe='')}" for key, value in pairs]
    return "&".join(sorted(encoded))


def link_header(base_url: str, params: Params, statuses: list[JSONDict]) -> str | None:
    """The ``Link`` header Mastodon sends with a timeline page, or None when empty."""
    if not statuses:
        return None
    kept = [(key, str(params[key])) for key in PERMITTED_PARAMS
            if isinstance(params.get(key), str | int)]
    url = f"{base_url}/api/v1/timelines/public"
    next_url = f"{url}?{_to_query([*kept, ('max_id', str(statuses[-1]['id']))])}"
    prev_url = f"{url}?{_to_query([*kept, ('min_id', str(statuses[0]['id']))])}"
    return f'<{next_url}>; rel="next", <{prev_url}>; rel="prev"'


def scope_for(params: Params, languages: list[str] | None, *,
              sees_local: bool, sees_remote: bool) -> FeedScope:
    """PublicFeed's options; a feed the viewer may not see narrows to the other one."""
    local, remote = truthy(params, "local"), truthy(params, "remote")
    return FeedScope(local_only=(local and not remote) or not sees_remote,
                     remote_only=(remote and not local) or not sees_local,
                     only_media=truthy(params, "only_media"), languages=languages)


def needs_auth(params: Params, local_access: str, remote_access: str) -> bool:
    """PublicController#require_auth? for the 4.5 live-feed access settings."""
    if truthy(params, "local"):
        return local_access != "public"
    if truthy(params, "remote"):
        return remote_access != "public"
    return local_access != "public" or remote_access != "public"


def may_see(access: str, *, has_user: bool, staff: bool) -> bool:
    """PublicFeed#user_has_access_to_feed?: public, any user, or staff only."""
    if access == "public":
        return True
    if access == "authenticated":
        return has_user
    return staff
