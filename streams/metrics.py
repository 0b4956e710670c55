"""Every Prometheus metric of the worker, in one place.

Names follow Prometheus conventions: a ``streams_`` prefix, base units (seconds, bytes, USD),
``_total`` for counters. Label values are bounded sets (categories, outcomes, reasons, topic
names from the settings); post text, status ids and account ids are never labels.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from streams.categories import CATEGORIES
from streams.errors import UNAVAILABLE_REASONS

# The *_created series double the exposition and no dashboard reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]
REGISTRY = CollectorRegistry(auto_describe=True)

POSTS_CONSUMED = Counter(
    "streams_posts_consumed_total", "Raw records read by the classifier.", registry=REGISTRY
)
POSTS_SCORED = Counter(
    "streams_posts_scored_total",
    "Scored records published, by backend and how the scores were obtained.",
    ["backend", "outcome"],  # outcome: scored, cached, empty
    registry=REGISTRY,
)
POSTS_DELETED = Counter(
    "streams_posts_deleted_total", "Deleted statuses recorded as tombstones.", registry=REGISTRY
)
DEAD_LETTERS = Counter(
    "streams_dead_letters_total",
    "Records sent to the dead-letter topic, by stage and reason.",
    ["stage", "reason"],
    registry=REGISTRY,
)
BATCH_SIZE = Histogram(
    "streams_batch_size_posts",
    "Raw records per classifier micro-batch.",
    buckets=(1, 2, 5, 10, 25, 50, 100, 200),
    registry=REGISTRY,
)
BATCHES_IN_FLIGHT = Gauge(
    "streams_batches_in_flight", "Micro-batches being scored right now.", registry=REGISTRY
)
LLM_REQUEST_DURATION = Histogram(
    "streams_llm_request_duration_seconds",
    "Duration of one LLM request, whatever its outcome.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300),
    registry=REGISTRY,
)
LLM_REQUESTS = Counter(
    "streams_llm_requests_total",
    "LLM requests by outcome (ok, invalid_reply, rate_limited, timeout, connection_error, "
    "server_error, bad_request, auth_error, not_found).",
    ["outcome"],
    registry=REGISTRY,
)
LLM_RETRIES = Counter(
    "streams_llm_retries_total",
    "Posts asked again after their first attempt gave no valid scores.",
    registry=REGISTRY,
)
LLM_TOKENS = Counter(
    "streams_llm_tokens_total",
    "Tokens used, by kind (input, cached_input, output).",
    ["kind"],
    registry=REGISTRY,
)
LLM_COST = Counter("streams_llm_cost_usd_total", "Cost of LLM requests in USD.", registry=REGISTRY)
FLAGGED = Counter(
    "streams_flagged_posts_total",
    "Posts flagged, by category (a post flagged in two categories counts in both).",
    ["category"],
    registry=REGISTRY,
)
CATEGORY_SCORE = Histogram(
    "streams_category_score",
    "Distribution of scores, per category.",
    ["category"],
    buckets=(0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
    registry=REGISTRY,
)
REPEAT_CACHE_HITS = Counter(
    "streams_repeat_cache_hits_total",
    "Posts whose text was scored recently and reused without an LLM call.",
    registry=REGISTRY,
)
END_TO_END_LATENCY = Histogram(
    "streams_end_to_end_latency_seconds",
    "From the raw record's produce time to its scored record being acknowledged.",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900),
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "streams_consumer_lag_records",
    "Records behind the end of the partition, as of the last record read.",
    ["topic", "partition"],
    registry=REGISTRY,
)
CORRECTIONS = Counter(
    "streams_corrections_total",
    "Moderators' corrections read by the harvester, by source and feedback type.",
    ["source", "feedback_type"],
    registry=REGISTRY,
)
HARVEST_IGNORED = Counter(
    "streams_harvest_ignored_total",
    "Records the harvester deliberately did not keep: of an erased post, or a boost's text.",
    ["reason"],
    registry=REGISTRY,
)
TRAINING_EXAMPLES = Counter(
    "streams_training_examples_total",
    "Training example versions published (written) or erased.",
    ["outcome"],
    registry=REGISTRY,
)
JSONL_BYTES = Counter(
    "streams_jsonl_bytes_total", "Bytes appended to the harvest JSONL files.", registry=REGISTRY
)
# --- actions: reports of flagged posts ----------------------------------------------------
ACTIONS = Counter(
    "streams_actions_total",
    "Actions by sink and outcome: dry_run (planned and recorded, no call made), planned, "
    "done (the sink acted), failed (it did not, or may have: see the record's reason).",
    ["sink", "outcome"],
    registry=REGISTRY,
)
ACTIONS_POSSIBLY_MISSED = Counter(
    "streams_actions_possibly_missed_total",
    "Plans a crash left without an outcome: never carried out again, so the report may be "
    "missing; and answers that left open whether the sink acted.",
    ["sink"],
    registry=REGISTRY,
)
ACTION_SKIPS = Counter(
    "streams_action_skips_total",
    "Scored records the action agent did not act on, by reason (below_threshold, language, "
    "no_account, already_acted, lost_claim, deleted, invalid).",
    ["reason"],
    registry=REGISTRY,
)
ACTION_REQUESTS = Counter(
    "streams_action_requests_total",
    "Requests to the action sink, by sink and outcome (ok, rate_limited, server_error, "
    "unreachable, no_answer, refused, not_found, rejected).",
    ["sink", "outcome"],
    registry=REGISTRY,
)
ACTION_DURATION = Histogram(
    "streams_action_duration_seconds",
    "From an action's plan to its outcome, retries and rate-limit waits included.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
    registry=REGISTRY,
)
ACTIONS_HALTED = Gauge(
    "streams_actions_halted",
    "1 while the action agent does not act, by reason: stop_switch (an operator stopped it) "
    "or error (the sink refused its token or requests).",
    ["reason"],
    registry=REGISTRY,
)
LLM_RESPONSE_FORMAT = Gauge(
    "streams_llm_response_format",
    "1 for the response format the LLM endpoint takes (json_schema, json_object_schema, "
    "json_object, none), as detected: a refusal that names the format moves one step down.",
    ["mode"],
    registry=REGISTRY,
)
LLM_AVAILABLE = Gauge(
    "streams_llm_available",
    "1 while the classifier calls the LLM; 0 while it is paused because the LLM is unavailable.",
    registry=REGISTRY,
)
LLM_UNAVAILABLE = Gauge(
    "streams_llm_unavailable",
    "1 for the reason the classifier is paused (server_error, timeout, connection_error, "
    "rate_limited, insufficient_quota); all 0 while the LLM answers.",
    ["reason"],
    registry=REGISTRY,
)
CALIBRATION = Gauge(
    "streams_calibration_info",
    "1 for the version of the calibration map the classifier applies (none: uncalibrated).",
    ["version"],
    registry=REGISTRY,
)
BUILD_INFO = Gauge(
    "streams_build_info",
    "Always 1; the labels say what this worker runs.",
    ["version", "backend", "model", "prompt_version"],
    registry=REGISTRY,
)


def prime(backend: str) -> None:
    """Create the labelled series that exist from the start, so dashboards show 0, not gaps."""
    LLM_AVAILABLE.set(1)
    for reason in UNAVAILABLE_REASONS:
        LLM_UNAVAILABLE.labels(reason)
    for category in CATEGORIES:
        FLAGGED.labels(category)
        CATEGORY_SCORE.labels(category)
    for outcome in ("scored", "cached", "empty"):
        POSTS_SCORED.labels(backend, outcome)
    for outcome in ("ok", "invalid_reply", "rate_limited", "timeout", "server_error"):
        LLM_REQUESTS.labels(outcome)
    for kind in ("input", "cached_input", "output"):
        LLM_TOKENS.labels(kind)
    for outcome in ("published", "erased"):
        TRAINING_EXAMPLES.labels(outcome)
    for reason in ("erased_post", "boost"):
        HARVEST_IGNORED.labels(reason)
    for stage, reason in (
        ("parse", "invalid_json"), ("score", "llm_unavailable"),
        ("harvest", "invalid_correction"), ("harvest", "text_wait_expired"),
    ):  # fmt: skip
        DEAD_LETTERS.labels(stage, reason)
    for sink in ("mastodon", "webhook"):
        for outcome in ("dry_run", "planned", "done", "failed"):
            ACTIONS.labels(sink, outcome)
        for outcome in ("ok", "rate_limited", "server_error", "refused"):
            ACTION_REQUESTS.labels(sink, outcome)
        ACTIONS_POSSIBLY_MISSED.labels(sink)
    for reason in ("below_threshold", "language", "no_account", "already_acted", "lost_claim"):
        ACTION_SKIPS.labels(reason)
    for reason in ("stop_switch", "error"):
        ACTIONS_HALTED.labels(reason)
    for source in ("admin_override", "user_report", "appeal"):
        for feedback_type in ("false_positive", "false_negative", "other"):
            CORRECTIONS.labels(source, feedback_type)


def exposition() -> bytes:
    return generate_latest(REGISTRY)
