"""The one settings object. Every piece of configuration is read here, from ``STREAMS_*`` env vars.

Faust's own settings are derived from it (see ``streams.app``); Faust is never allowed to read
unprefixed environment variables on its own.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams.models.scored import Threshold

KAFKA_VERSION = "4.1.2"


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "streams"


class Settings(BaseSettings):
    """Configuration of a worker and of the ``streams`` commands.

    Each field is read from ``STREAMS_<FIELD NAME>`` (upper case); ``OPENAI_API_KEY`` is also
    accepted for the API key, as every OpenAI tool does.
    """

    model_config = SettingsConfigDict(
        env_prefix="STREAMS_",
        env_file=None,
        extra="ignore",
        frozen=True,
        populate_by_name=True,
        # OPENAI_API_KEY="" (as compose files pass an unset variable) means no key.
        env_ignore_empty=True,
    )

    # --- Kafka -------------------------------------------------------------------------
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092",
        description="Comma-separated host:port list of the Kafka brokers.",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="SASL_SSL for brokers that require SCRAM over TLS."
    )
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = Field(
        None, description="PEM file of the CA that signed the brokers' certificates."
    )
    app_id: str = Field(
        "streams-moderation",
        description="Faust app id: the consumer group and the prefix of internal topics.",
    )
    topic_partitions: int = Field(6, ge=1, description="Partitions of topics the app creates.")
    topic_replication_factor: int = Field(1, ge=1)

    # --- topics ------------------------------------------------------------------------
    topic_raw: str = Field("statuses.raw", description="Mastodon statuses to score.")
    topic_scored: str = Field("statuses.scored", description="One scored record per status.")
    topic_dlq: str = Field("statuses.dlq", description="Records that could not be processed.")
    topic_corrections: str = Field("moderation.corrections")
    topic_training: str = Field("training.examples")

    # --- mirror (copy one topic to another: replays, migrations, smoke tests) ------------
    mirror_source_topic: str | None = Field(
        None, description="When set with mirror_target_topic, the worker copies this topic."
    )
    mirror_target_topic: str | None = None

    # --- worker ------------------------------------------------------------------------
    web_host: str = Field("127.0.0.1", description="Interface of the worker's web server.")
    web_port: int = Field(6066, ge=0, le=65535, description="Port of /metrics and the API.")
    api_token: SecretStr | None = Field(
        None,
        description="Bearer tokens of the HTTP API, comma separated (two during a rotation). "
        "A token followed by ':' and '+'-joined correction sources may write only those, e.g. "
        "`T1,T2:user_report+appeal`. Unset: the API answers 403 (closed by default).",
    )
    api_max_body_bytes: int = Field(
        64 * 1024, ge=1024, description="Largest request body the HTTP API accepts (413 above)."
    )
    data_dir: Path = Field(
        Path("data"), description="Where the worker keeps local state (tables, JSONL sink)."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    shutdown_timeout_s: float = Field(
        30.0, gt=0, description="Longest SIGTERM shutdown; unfinished work is redone on restart."
    )
    broker_session_timeout_s: float = Field(
        60.0, ge=6, description="A worker silent this long is dropped from the group."
    )
    broker_commit_interval_s: float = Field(
        1.0, gt=0, description="How often consumed offsets are committed."
    )

    # --- classifier ----------------------------------------------------------------------
    classifier_enabled: bool = Field(True, description="Run the classifier agent.")
    scoring_backend: Literal["auto", "openai", "lexicon"] = Field(
        "auto", description="auto: openai when an API key is set, else the offline lexicon."
    )
    batch_size: int = Field(25, ge=1, le=200, description="Most posts in one LLM request.")
    batch_timeout_s: float = Field(
        1.0, gt=0, description="Longest wait for a batch to fill before it is sent anyway."
    )
    max_batches_in_flight: int = Field(4, ge=1, description="Concurrent LLM requests per worker.")
    max_posts_ahead: int = Field(
        0,
        ge=0,
        description="Most posts read but not yet committed per worker: scored posts wait "
        "for the earlier posts of their partition. A crash redoes at most one run of "
        "batch_size of them. 0: twice batch_size x (max_batches_in_flight + 1).",
    )
    max_attempts: int = Field(
        3, ge=1, description="Tries per post before it goes to the dead-letter topic."
    )
    flag_threshold: Threshold = Field(
        0.5, description="Score at which a post is flagged: above 0, at most 1."
    )
    content_cache_size: int = Field(
        10_000, ge=0, description="Recently scored texts remembered, so repeats are scored once."
    )
    max_text_chars: int = Field(
        4000,
        ge=100,
        description="Most characters of one post in an LLM request; a longer post is scored "
        "in overlapping chunks of this size, each category its maximum over them.",
    )

    # --- harvester -------------------------------------------------------------------------
    harvester_enabled: bool = Field(True, description="Run the harvester agent.")
    harvest_dir: Path | None = Field(
        None, description="Where the harvest_YYYYMMDD.jsonl files go (default data_dir/harvest)."
    )
    text_wait_s: float = Field(
        60.0, gt=0, description="How long a correction without text waits for the post's text."
    )
    text_cache_size: int = Field(
        200_000, ge=1, description="Post texts the harvester keeps for corrections without text."
    )
    raw_retention_days: float = Field(
        7.0, gt=0, description="Days the raw topic keeps posts (their source texts expire)."
    )
    corrections_retention_days: float = Field(
        90.0, gt=0,
        description="Days the corrections topic keeps corrections; the training topic keeps "
        "each post's current example meanwhile.",
    )  # fmt: skip
    harvest_flush_interval_s: float = Field(
        0.5, gt=0, description="Longest time a training example waits before its JSONL fsync."
    )

    # --- LLM ---------------------------------------------------------------------------
    openai_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("STREAMS_OPENAI_API_KEY", "OPENAI_API_KEY"),
        description="API key of the OpenAI-compatible endpoint; without one the lexicon backend "
        "is used.",
    )
    openai_base_url: str | None = Field(
        None, description="Base URL of an OpenAI-compatible endpoint (vLLM, Ollama, LiteLLM)."
    )
    openai_model: str = "gpt-4o-mini"
    openai_timeout_s: float = Field(60.0, gt=0, description="Timeout of one LLM request.")
    openai_max_retries: int = Field(
        6, ge=0, description="Retries of a failed request (429, 5xx, timeout) before giving up."
    )
    openai_backoff_s: float = Field(1.0, gt=0, description="First backoff; doubles per retry.")
    openai_backoff_max_s: float = Field(60.0, gt=0)
    openai_structured_output: bool = Field(
        True, description="Strict JSON-schema replies; false for endpoints with JSON mode only."
    )
    openai_requests_per_minute: float = Field(500, gt=0, description="Client-side RPM budget.")
    openai_tokens_per_minute: float = Field(
        200_000, gt=0, description="Client-side TPM budget (input + max output tokens)."
    )
    #: USD per million tokens: model -> {input, cached_input, output}.
    model_prices: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {
            "gpt-4o-mini": {"input": 0.15, "cached_input": 0.075, "output": 0.60},
            "gpt-4o": {"input": 2.50, "cached_input": 1.25, "output": 10.00},
        },
        description='JSON, e.g. {"my-model": {"input": 0.1, "cached_input": 0.05, "output": 0.4}}',
    )

    # --- local Kafka launcher ------------------------------------------------------------
    kafka_version: str = Field(KAFKA_VERSION, description="Apache Kafka version the launcher runs.")
    cache_dir: Path = Field(
        default_factory=default_cache_dir,
        description="Where the launcher keeps Kafka jars and its state (outside the repository).",
    )
    kafka_port: int = Field(9092, ge=0, le=65535, description="Port of `streams kafka up`.")
    kafka_start_timeout_s: float = Field(90.0, gt=0)
    kafka_heap: str = Field("512m", description="Maximum Java heap of the launched broker.")

    # Mastodon connector
    mastodon_base_url: str | None = Field(
        None,
        description="Base URL of the Mastodon instance, e.g. https://mastodon.example "
        "(the REST API host; the streaming host is discovered from it).",
    )
    mastodon_access_token: SecretStr | None = Field(
        None, description="User token with read:statuses for the streaming API and timelines."
    )
    mastodon_webhook_secret: SecretStr | None = Field(
        None, description="Secret of the instance's webhook; without it webhooks are refused."
    )
    mastodon_streams: str = Field(
        "public:remote",
        description="Comma-separated streams to follow: public, public:local, public:remote "
        "(each optionally :media).",
    )
    mastodon_backfill_max_age_s: float = Field(
        3600.0,
        gt=0,
        description="Backfill after a reconnect or restart reaches back at most this far.",
    )
    mastodon_idle_timeout_s: float = Field(
        90.0,
        gt=0,
        description="No message nor ping for this long means a dead connection: reconnect "
        "(Mastodon pings every 30 s).",
    )
    mastodon_rule_categories: dict[str, list[str]] = Field(
        default_factory=dict,
        description="JSON: instance rule id or report category (spam, legal, violation, other) "
        '-> categories, e.g. {"3": ["hate_speech", "racism"], "other": ["toxic"]}.',
    )
    mastodon_own_account_ids: str = Field(
        "",
        description="Comma-separated ids of the accounts that file this system's own reports: "
        "their reports are no user reports, only their resolutions are corrections.",
    )
    mastodon_dismissal_labels_clean: bool = Field(
        True,
        description="A report resolved with no sanction on the account labels its posts as "
        "violating nothing; false: such resolutions are counted and make no correction.",
    )
    mastodon_state_file: Path | None = Field(
        None,
        description="Where the follower keeps the last status id it published "
        "(default data_dir/mastodon/follower_state.json).",
    )

    # --- dead-letter replay (streams dlq replay) -------------------------------------------
    topic_dlq_replayed: str | None = Field(
        None,
        description="Compacted topic marking the dead letters `streams dlq replay` has "
        "re-published, so none is replayed twice (default: <topic_dlq>.replayed).",
    )

    # --- actions: reports of flagged posts (Mastodon's report API or a signed webhook) ------
    actions_mode: Literal["off", "dry-run", "live"] = Field(
        "off",
        description="off: no action agent; dry-run: actions are planned and recorded on the "
        "actions topic, no call is made; live: reports are filed.",
    )
    actions_sink: Literal["mastodon", "webhook"] = Field(
        "mastodon", description="Where live actions go: Mastodon's report API, or a webhook."
    )
    topic_actions: str = Field(
        "moderation.actions", description="One action record per post (compacted)."
    )
    topic_action_control: str = Field(
        "moderation.actions.control", description="The stop switch of the actions (compacted)."
    )
    actions_thresholds: dict[str, float | None] = Field(
        default_factory=dict,
        description='JSON: category -> score at which to act, e.g. {"threat": 0.7, "toxic": '
        "null} (null: never act on it); unlisted categories use STREAMS_FLAG_THRESHOLD.",
    )
    actions_languages: str = Field(
        "",
        description="Comma-separated languages to act on (e.g. nl,en); empty: every language. "
        "With a list, posts of unknown language are left alone.",
    )
    actions_rule_ids: dict[str, list[str]] | None = Field(
        None,
        description='JSON: category -> the instance\'s rule ids it breaks, e.g. {"racism": ["1"]}.'
        " Unset: read backwards from STREAMS_MASTODON_RULE_CATEGORIES.",
    )
    actions_forward: bool = Field(
        False, description="Ask Mastodon to forward reports of remote posts to their server."
    )
    actions_start_from: Literal["latest", "earliest"] = Field(
        "latest",
        description="Where a new action agent (no committed offsets) starts on the scored "
        "topic: latest acts on posts scored from then on, earliest on its whole history.",
    )
    actions_max_attempts: int = Field(
        8, ge=1, description="Tries of one action on 5xx and connection errors (429s wait)."
    )
    actions_backoff_s: float = Field(1.0, gt=0, description="First backoff; doubles per try.")
    actions_backoff_max_s: float = Field(60.0, gt=0)
    actions_request_timeout_s: float = Field(
        30.0, gt=0, description="Timeout of one report or webhook request."
    )
    actions_claim_timeout_s: float = Field(
        20.0,
        gt=0,
        description="A plan must start sending within half of this, or it is abandoned; "
        "after a crash, a plan that never started sending is acted on anew after all of it. "
        "The other half allows for workers' clocks disagreeing.",
    )
    actions_webhook_url: str | None = Field(
        None, description="Where the webhook sink POSTs each action (http or https)."
    )
    actions_webhook_secret: SecretStr | None = Field(
        None, description="HMAC-SHA256 key of the webhook's X-Streams-Signature."
    )

    # --- LLM circuit breaker and rebalances (classifier) ---------------------------------
    llm_circuit_failures: int = Field(
        2,
        ge=1,
        description="Whole LLM calls in a row that find the endpoint unavailable (after their "
        "own retries) before the classifier pauses reading and probes it. Quota exhaustion "
        "pauses at once.",
    )
    llm_probe_backoff_s: float = Field(
        1.0, gt=0, description="First wait before probing an unavailable LLM; doubles per probe."
    )
    llm_probe_backoff_max_s: float = Field(60.0, gt=0, description="Longest wait between probes.")
    rebalance_drain_s: float = Field(
        5.0,
        ge=0,
        description="On a rebalance, how long the classifier lets its batches in flight finish "
        "and publish; what is unfinished then (at once while the LLM is unavailable) is dropped "
        "unpublished and redone by the partition's next owner.",
    )

    # --- calibration (streams calibrate; workers follow the topic) -------------------------
    topic_calibration: str = Field(
        "model.calibration",
        description="Compacted topic of calibration maps, one per backend/model/prompt version; "
        "workers apply the latest one of their own scoring configuration.",
    )
    calibration_follow: bool = Field(
        True,
        description="Workers follow the calibration topic and calibrate scores with its map; "
        "false: scores go out as the backend gave them.",
    )
    calibration_load_timeout_s: float = Field(
        10.0,
        gt=0,
        description="At start, how long a worker waits to read the calibration topic before it "
        "scores uncalibrated (and picks the map up when the topic answers).",
    )

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _strip_scheme(cls, value: str) -> str:
        # Accept the kafka:// form Faust users are used to, store the plain list.
        hosts = [h.strip().removeprefix("kafka://") for h in value.split(",") if h.strip()]
        if not hosts:
            raise ValueError(
                "set at least one host:port, e.g. STREAMS_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092"
            )
        return ",".join(hosts)

    @property
    def posts_ahead_limit(self) -> int:
        """``max_posts_ahead``, but never so low that the batches in flight cannot fill."""
        floor = self.batch_size * (self.max_batches_in_flight + 1)
        return max(self.max_posts_ahead or 2 * floor, floor)

    @property
    def harvest_directory(self) -> Path:
        return self.harvest_dir or self.data_dir / "harvest"

    @property
    def faust_broker_url(self) -> str:
        return ";".join(f"kafka://{h}" for h in self.kafka_bootstrap_servers.split(","))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment once."""
    return Settings()
