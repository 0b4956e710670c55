"""How every Kafka client of this package connects: plain, or SASL_SSL with SCRAM over TLS.

One place turns the settings into client options (aiokafka) and credentials (Faust), and one
pre-flight check turns a connection failure into an error that names its cause, instead of a
client retrying a bad password or an untrusted certificate forever.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import faust
from aiokafka import AIOKafkaProducer
from aiokafka.conn import create_conn

from streams.errors import BrokerError, ConfigurationError
from streams.settings import Settings


def ssl_context(settings: Settings) -> ssl.SSLContext:
    cafile = settings.kafka_ssl_cafile
    if cafile is not None and not cafile.is_file():
        raise ConfigurationError(
            f"STREAMS_KAFKA_SSL_CAFILE={cafile} does not exist: point it at the CA's PEM file"
        )
    context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    return context


def _require_credentials(settings: Settings) -> tuple[str, str]:
    if not settings.kafka_sasl_username or settings.kafka_sasl_password is None:
        raise ConfigurationError(
            "STREAMS_KAFKA_SECURITY_PROTOCOL=SASL_SSL needs STREAMS_KAFKA_SASL_USERNAME and "
            "STREAMS_KAFKA_SASL_PASSWORD"
        )
    return settings.kafka_sasl_username, settings.kafka_sasl_password.get_secret_value()


def client_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for aiokafka producers, consumers and admin clients."""
    if settings.kafka_security_protocol == "PLAINTEXT":
        return {}
    username, password = _require_credentials(settings)
    return {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": settings.kafka_sasl_mechanism,
        "sasl_plain_username": username,
        "sasl_plain_password": password,
        "ssl_context": ssl_context(settings),
    }


async def start_producer(settings: Settings) -> AIOKafkaProducer:
    """A started producer that waits for every in-sync replica and writes each record once
    (acks=all, idempotent); BrokerError naming the setting to check when Kafka is not there."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers, acks="all",
        enable_idempotence=True, **client_options(settings),
    )  # fmt: skip
    try:
        await producer.start()
    except Exception as exc:
        await producer.stop()
        raise BrokerError(
            f"cannot reach Kafka at {settings.kafka_bootstrap_servers} ({exc}); check "
            "STREAMS_KAFKA_BOOTSTRAP_SERVERS and `streams kafka status`"
        ) from exc
    return producer


def faust_credentials(settings: Settings) -> faust.SASLCredentials | None:
    if settings.kafka_security_protocol == "PLAINTEXT":
        return None
    username, password = _require_credentials(settings)
    return faust.SASLCredentials(
        username=username,
        password=password,
        ssl_context=ssl_context(settings),
        mechanism=settings.kafka_sasl_mechanism,
    )


async def check_connection(settings: Settings, timeout_s: float = 20.0) -> None:
    """Connect to the first reachable bootstrap server and authenticate, or raise BrokerError
    naming why not (refused, TLS not trusted, authentication failed)."""
    options = client_options(settings)
    errors = []
    for server in settings.kafka_bootstrap_servers.split(","):
        host, _, port = server.rpartition(":")
        try:
            conn = await asyncio.wait_for(
                create_conn(host, int(port), **options), timeout=timeout_s
            )
        except ssl.SSLCertVerificationError as exc:
            raise BrokerError(
                f"TLS: the certificate of {server} is not trusted ({exc.verify_message}): set "
                "STREAMS_KAFKA_SSL_CAFILE to the CA that signed it"
            ) from None
        except (ConnectionError, OSError, TimeoutError) as exc:
            errors.append(f"{server}: {exc!r}")
            continue
        except Exception as exc:
            text = str(exc)
            if "auth" in text.lower() or "sasl" in type(exc).__name__.lower():
                raise BrokerError(
                    f"SASL authentication to {server} failed ({type(exc).__name__}: {text}): "
                    "check STREAMS_KAFKA_SASL_USERNAME, STREAMS_KAFKA_SASL_PASSWORD and "
                    "STREAMS_KAFKA_SASL_MECHANISM"
                ) from None
            errors.append(f"{server}: {type(exc).__name__}: {text}")
            continue
        conn.close()
        return
    raise BrokerError(
        "cannot connect to any Kafka bootstrap server (STREAMS_KAFKA_BOOTSTRAP_SERVERS): "
        + "; ".join(errors)
    )
