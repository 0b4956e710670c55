"""Creates the catalog's topics on a broker, or verifies existing ones and reports drift."""

from __future__ import annotations

from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from streams.errors import BrokerError, ConfigurationError
from streams.kafka.catalog import TopicReport, TopicSpec, catalog, compare
from streams.settings import Settings

_TOPIC_ALREADY_EXISTS = 36


async def _describe(
    admin: AIOKafkaAdminClient, names: list[str]
) -> dict[str, tuple[int, dict[str, str]]]:
    """Partitions and configs of those of ``names`` that exist."""
    # A metadata request naming a missing topic would auto-create it on brokers that allow
    # that, with default settings; so only topics known to exist are described.
    present = set(await admin.list_topics()) & set(names)
    if not present:
        return {}
    existing = {
        t["topic"]: len(t["partitions"])
        for t in await admin.describe_topics(sorted(present))
        if t["error_code"] == 0
    }
    if not existing:
        return {}
    responses = await admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, name) for name in existing]
    )
    configs: dict[str, dict[str, str]] = {}
    for response in responses:
        for resource in response.resources:
            error_code, error_message, _type, name, entries = resource[:5]
            if error_code:
                raise BrokerError(f"describing topic {name} failed: {error_message}")
            configs[name] = {entry[0]: entry[1] for entry in entries}
    return {name: (count, configs.get(name, {})) for name, count in existing.items()}


async def ensure_topics(
    bootstrap: str,
    specs: list[TopicSpec],
    replication_factor: int = 1,
    client_options: dict[str, Any] | None = None,
) -> list[TopicReport]:
    """Create missing topics; leave existing ones alone but report how they differ."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=30000, **(client_options or {})
    )
    try:
        await admin.start()
    except Exception as exc:
        await admin.close()
        raise BrokerError(
            f"cannot reach Kafka at {bootstrap} ({exc}); start one with `streams kafka up` "
            "or set STREAMS_KAFKA_BOOTSTRAP_SERVERS"
        ) from exc
    try:
        before = await _describe(admin, [s.name for s in specs])
        missing = [s for s in specs if s.name not in before]
        if missing:
            response = await admin.create_topics(
                [
                    NewTopic(s.name, s.partitions, replication_factor, topic_configs=s.configs())
                    for s in missing
                ]
            )
            for name, code, *rest in response.topic_errors:
                if code not in (0, _TOPIC_ALREADY_EXISTS):
                    message = rest[0] if rest else ""
                    raise BrokerError(f"creating topic {name} failed (error {code}): {message}")
        reports = []
        for spec in specs:
            if spec.name not in before:
                reports.append(TopicReport(spec.name, "created"))
                continue
            partitions, configs = before[spec.name]
            drift = compare(spec, partitions, configs)
            reports.append(TopicReport(spec.name, "drift" if drift else "ok", drift))
        return reports
    finally:
        await admin.close()


async def describe_topic(
    bootstrap: str, name: str, client_options: dict[str, Any] | None = None
) -> tuple[int, dict[str, str]] | None:
    """Partitions and configs of one topic, None when it does not exist."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **(client_options or {}))
    await admin.start()
    try:
        return (await _describe(admin, [name])).get(name)
    finally:
        await admin.close()


async def prepare_worker_topics(settings: Settings) -> list[str]:
    """Create the catalog's missing topics before a worker subscribes; return drift warnings.

    Raises ConfigurationError when the harvester's inputs are not co-partitioned with its
    tables: their changelogs have ``topic_partitions`` partitions, and a post's text, its
    corrections and their state must share a partition number.
    """
    from streams.kafka.client import client_options

    specs = catalog(settings)
    reports = await ensure_topics(
        settings.kafka_bootstrap_servers, specs, settings.topic_replication_factor,
        client_options(settings),
    )  # fmt: skip
    warnings = [r.line() for r in reports if r.outcome == "drift"]
    if settings.harvester_enabled:
        for spec in specs:
            if spec.role not in ("raw", "corrections"):
                continue
            described = await describe_topic(
                settings.kafka_bootstrap_servers, spec.name, client_options(settings)
            )
            if described is not None and described[0] != settings.topic_partitions:
                raise ConfigurationError(
                    f"topic {spec.name} has {described[0]} partitions but "
                    f"STREAMS_TOPIC_PARTITIONS={settings.topic_partitions}: the harvester's "
                    "tables must match; set STREAMS_TOPIC_PARTITIONS to the topic's count "
                    "(and give the raw and corrections topics the same count)"
                )
    return warnings
