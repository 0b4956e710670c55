"""The connector's configuration, read once from the settings into frozen objects.

Errors name the environment variable to fix (``ConfigurationError``); nothing else in the
connector reads the settings.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from streams.errors import ConfigurationError
from streams.ingest.mastodon.reports import ReportPolicy
from streams.ingest.mastodon.streaming import PAGE_LIMIT, parse_streams
from streams.settings import Settings


class FollowerConfig(BaseModel):
    """What ``streams ingest mastodon`` needs; build it with :meth:`from_settings`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str = Field(description="REST API base URL, without a trailing slash.")
    access_token: SecretStr
    streams: tuple[str, ...]
    topic_raw: str
    state_file: Path
    backfill_max_age_s: float = Field(3600.0, gt=0)
    idle_timeout_s: float = Field(90.0, gt=0)
    page_limit: int = Field(PAGE_LIMIT, ge=1, le=PAGE_LIMIT)
    backoff_base_s: float = Field(1.0, gt=0)
    backoff_max_s: float = Field(60.0, gt=0)
    request_timeout_s: float = Field(30.0, gt=0)
    #: Longest time between two writes of the state file while statuses stream in.
    state_flush_s: float = Field(1.0, ge=0)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        base_url: str | None = None,
        streams: list[str] | None = None,
    ) -> FollowerConfig:
        """The follower's configuration; ``base_url`` and ``streams`` are the command's flags."""
        url = check_base_url(base_url or settings.mastodon_base_url)
        token = settings.mastodon_access_token
        if token is None or not token.get_secret_value().strip():
            raise ConfigurationError(
                "STREAMS_MASTODON_ACCESS_TOKEN is not set: create an application in Mastodon's "
                "Preferences > Development with the read:statuses scope and use its token"
            )
        return cls(
            base_url=url,
            access_token=token,
            streams=parse_streams(streams or settings.mastodon_streams),
            topic_raw=settings.topic_raw,
            state_file=settings.mastodon_state_file
            or settings.data_dir / "mastodon" / "follower_state.json",
            backfill_max_age_s=settings.mastodon_backfill_max_age_s,
            idle_timeout_s=settings.mastodon_idle_timeout_s,
        )


def check_base_url(value: str | None) -> str:
    """``value`` as an http(s) base URL without a trailing slash, or ConfigurationError."""
    parts = urlsplit((value or "").strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            "STREAMS_MASTODON_BASE_URL (or --base-url) must be the instance's address, e.g. "
            f"https://mastodon.example; got {value!r}"
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def report_policy(settings: Settings) -> ReportPolicy:
    """How reports map to categories (``STREAMS_MASTODON_RULE_CATEGORIES`` and friends)."""
    own = {item.strip() for item in settings.mastodon_own_account_ids.split(",") if item.strip()}
    try:
        return ReportPolicy(
            rule_categories=settings.mastodon_rule_categories,
            own_account_ids=frozenset(own),
            dismissal_labels_clean=settings.mastodon_dismissal_labels_clean,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "value"
        raise ConfigurationError(
            f"STREAMS_MASTODON_RULE_CATEGORIES: {where}: {first['msg']}"
        ) from None


def webhook_secret(settings: Settings) -> str:
    """The webhook secret, or "" when none is set (the route then refuses every delivery)."""
    secret = settings.mastodon_webhook_secret
    return secret.get_secret_value() if secret is not None else ""
