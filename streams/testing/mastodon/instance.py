"""``GET /api/v2/instance``: the Instance entity.

Shape from mastodon/documentation content/en/methods/instance.md (v2, 4.5)
and content/en/entities/Instance.md; served by REST::InstanceSerializer
(mastodon/mastodon app/serializers/rest/instance_serializer.rb).
``configuration.urls.streaming`` is ``Rails.configuration.x.streaming_api_base_url``:
a ``ws(s)://host[:port]`` base to which clients append ``/api/v1/streaming``.
"""

from __future__ import annotations

from streams.testing.mastodon.config import ServerConfig
from streams.testing.mastodon.entities import JSONDict
from streams.testing.mastodon.webhook_payloads import rule_entity


def instance_entity(config: ServerConfig, *, streaming_url: str, rules: list[JSONDict],
                    contact: JSONDict | None) -> JSONDict:
    """The v2 Instance entity for this fake server."""
    domain = config.domain
    return {
        "domain": domain,
        "title": config.title,
        "version": config.version,
        "source_url": "https://github.com/mastodon/mastodon",
        "description": "A local Mastodon-compatible instance for tests.",
        "usage": {"users": {"active_month": 3}},
        "thumbnail": {"url": f"https://{domain}/packs/media/images/preview.png"},
        "icon": [],
        "languages": ["en"],
        "configuration": {
            "urls": {
                "streaming": streaming_url,
                "status": None,
                "about": f"https://{domain}/about",
                "privacy_policy": f"https://{domain}/privacy-policy",
                "terms_of_service": None,
            },
            "vapid": {"public_key": ""},
            "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5},
            "statuses": {"max_characters": 500, "max_media_attachments": 4,
                         "characters_reserved_per_url": 23},
            "media_attachments": {"description_limit": 1500, "image_matrix_limit": 33177600,
                                  "image_size_limit": 16777216,
                                  "supported_mime_types": ["image/jpeg", "image/png"],
                                  "video_frame_rate_limit": 120, "video_matrix_limit": 8294400,
                                  "video_size_limit": 103809024},
            "polls": {"max_options": 4, "max_characters_per_option": 50,
                      "min_expiration": 300, "max_expiration": 2629746},
            "translation": {"enabled": False},
            "timelines_access": {
                "live_feeds": {"local": config.local_feed_access,
                               "remote": config.remote_feed_access},
                "hashtag_feeds": {"local": config.local_feed_access,
                                  "remote": config.remote_feed_access},
                "trending_link_feeds": {"local": "public", "remote": "public"},
            },
            "limited_federation": False,
        },
        "registrations": {"enabled": False, "approval_required": False,
                          "reason_required": False, "message": None, "min_age": None,
                          "url": None},
        "api_versions": {"mastodon": 6},
        "contact": {"email": f"admin@{domain}", "account": contact},
        "rules": [rule_entity(rule) for rule in rules],
    }
