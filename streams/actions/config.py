"""The action agent's configuration, read once from the settings into one frozen object.

Errors name the environment variable to fix (``ConfigurationError``); nothing else in the
actions reads the settings.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from streams.actions.policy import ActionPolicy, build_policy
from streams.categories import CATEGORIES
from streams.errors import ConfigurationError
from streams.ingest.mastodon.reports import REPORT_CATEGORIES
from streams.models.actions import Mode, SinkName
from streams.settings import Settings


class ActionsConfig(BaseModel):
    """What the action agent needs; build it with :meth:`from_settings`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Mode
    sink: SinkName
    policy: ActionPolicy
    topic_scored: str
    topic_actions: str
    topic_control: str
    #: The agent's own consumer group on the scored topic.
    group_id: str
    start_from: Literal["latest", "earliest"]
    max_attempts: int = Field(ge=1)
    backoff_s: float = Field(gt=0)
    backoff_max_s: float = Field(gt=0)
    request_timeout_s: float = Field(gt=0)
    claim_timeout_s: float = Field(gt=0)
    mastodon_base_url: str | None = None
    mastodon_token: SecretStr | None = None
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ActionsConfig | None:
        """The configuration, or None when ``STREAMS_ACTIONS_MODE=off``."""
        if settings.actions_mode == "off":
            return None
        mode: Mode = settings.actions_mode
        config = cls(
            mode=mode,
            sink=settings.actions_sink,
            policy=policy_from_settings(settings),
            topic_scored=settings.topic_scored,
            topic_actions=settings.topic_actions,
            topic_control=settings.topic_action_control,
            group_id=f"{settings.app_id}-actions",
            start_from=settings.actions_start_from,
            max_attempts=settings.actions_max_attempts,
            backoff_s=settings.actions_backoff_s,
            backoff_max_s=max(settings.actions_backoff_max_s, settings.actions_backoff_s),
            request_timeout_s=settings.actions_request_timeout_s,
            claim_timeout_s=settings.actions_claim_timeout_s,
            mastodon_base_url=settings.mastodon_base_url,
            mastodon_token=settings.mastodon_access_token,
            webhook_url=settings.actions_webhook_url,
            webhook_secret=settings.actions_webhook_secret,
        )
        if mode == "live":
            config._check_sink()
        return config

    def _check_sink(self) -> None:
        if self.sink == "mastodon":
            _check_url("STREAMS_MASTODON_BASE_URL", self.mastodon_base_url)
            if not _secret(self.mastodon_token):
                raise ConfigurationError(
                    "STREAMS_ACTIONS_MODE=live with the mastodon sink needs "
                    "STREAMS_MASTODON_ACCESS_TOKEN: the token of a bot account with the "
                    "write:reports scope (or STREAMS_ACTIONS_MODE=dry-run to try the policy)"
                )
            return
        _check_url("STREAMS_ACTIONS_WEBHOOK_URL", self.webhook_url)
        if len(_secret(self.webhook_secret)) < 16:
            raise ConfigurationError(
                "STREAMS_ACTIONS_WEBHOOK_SECRET must be set, at least 16 characters, for the "
                'webhook sink; generate one with: python -c "import secrets; '
                'print(secrets.token_urlsafe(32))"'
            )

    @property
    def base_url(self) -> str:
        return (self.mastodon_base_url or "").rstrip("/")


def policy_from_settings(settings: Settings) -> ActionPolicy:
    """The policy of ``STREAMS_ACTIONS_*`` (and the flag threshold), or ConfigurationError."""
    rule_ids = settings.actions_rule_ids
    where = "STREAMS_ACTIONS_RULE_IDS"
    if rule_ids is None:
        rule_ids = rules_from_rule_categories(settings.mastodon_rule_categories)
        where = "STREAMS_MASTODON_RULE_CATEGORIES"
    for category, rules in rule_ids.items():
        bad = [r for r in rules if not r or not r.replace("-", "").replace("_", "").isalnum()]
        if bad:
            raise ConfigurationError(f"{where}: {category}: {bad} are not rule ids")
    try:
        return build_policy(
            settings.flag_threshold,
            settings.actions_thresholds,
            settings.actions_languages,
            rule_ids,
            settings.actions_forward,
        )
    except ValueError as exc:
        raise ConfigurationError(f"STREAMS_ACTIONS_THRESHOLDS or {where}: {exc}") from None


def rules_from_rule_categories(mapping: dict[str, list[str]]) -> dict[str, list[str]]:
    """``STREAMS_MASTODON_RULE_CATEGORIES`` (rule id -> categories) read backwards.

    That setting says which categories a moderator's decision on a rule confirms; the same
    sentence read the other way says which rule a post of those categories breaks. Its
    report-category keys (spam, other, ...) name no rule and are left out, as are names
    that are no category.
    """
    backwards: dict[str, list[str]] = {}
    for key, categories in mapping.items():
        if key in REPORT_CATEGORIES:
            continue
        for category in categories:
            if category in CATEGORIES:
                backwards.setdefault(category, []).append(key)
    return backwards


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value().strip() if value is not None else ""


def _check_url(variable: str, value: str | None) -> None:
    parts = urlsplit((value or "").strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"{variable} must be an http(s) address, e.g. https://mastodon.example; got {value!r}"
        )
