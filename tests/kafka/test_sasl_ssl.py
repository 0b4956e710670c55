"""Authenticated brokers: SCRAM-SHA-512 over TLS, with a throwaway CA made here."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from streams.kafka import launcher
from streams.kafka.client import client_options
from streams.settings import KAFKA_VERSION, Settings
from streams.testing.llm_server.process import LocalLLMProcess
from streams.testing.workers import WorkerProcess

pytestmark = pytest.mark.broker

USER, PASSWORD = "moderation-worker", "correct horse battery staple"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
             "-out", "ca.pem", "-days", "2", "-subj", f"/CN={name}", cwd=directory)  # fmt: skip
    return directory / "ca.pem"


def make_broker_keystore(ca_dir: Path) -> Path:
    """The broker's key (PKCS#8) and certificate for 127.0.0.1, signed by the CA, as PEM."""
    (ca_dir / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "broker.key", "-out",
             "broker.csr", "-subj", "/CN=127.0.0.1", cwd=ca_dir)  # fmt: skip
    _openssl("x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "broker.pem", "-days", "2", "-extfile", "ext.cnf",
             cwd=ca_dir)  # fmt: skip
    _openssl("pkcs8", "-topk8", "-nocrypt", "-in", "broker.key", "-out", "broker.pk8", cwd=ca_dir)
    keystore = ca_dir / "keystore.pem"
    keystore.write_bytes(
        b"".join((ca_dir / f).read_bytes() for f in ("broker.pk8", "broker.pem", "ca.pem"))
    )
    return keystore


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    """A SASL_SSL broker; yields its address, the trusted CA and an unrelated CA."""
    base = tmp_path_factory.mktemp("tls")
    ca = make_ca(base / "ca", "streams test CA")
    keystore = make_broker_keystore(base / "ca")
    stranger = make_ca(base / "other", "some other CA")
    probe = Settings(
        kafka_security_protocol="SASL_SSL", kafka_sasl_username=USER,
        kafka_sasl_password=PASSWORD, kafka_ssl_cafile=ca,
    )  # fmt: skip
    handle = launcher.start_broker(
        cache_dir=Settings().cache_dir, version=KAFKA_VERSION, heap="512m",
        sasl_ssl=launcher.SaslSsl(USER, PASSWORD, keystore), probe_options=client_options(probe),
    )  # fmt: skip
    try:
        yield handle.bootstrap, ca, stranger
    finally:
        launcher.stop_broker(handle)


def secure_env(bootstrap: str, ca: Path, password: str = PASSWORD) -> dict[str, str]:
    return {
        "STREAMS_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "STREAMS_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "STREAMS_KAFKA_SASL_USERNAME": USER,
        "STREAMS_KAFKA_SASL_PASSWORD": password,
        "STREAMS_KAFKA_SSL_CAFILE": str(ca),
    }


def produce(env: dict[str, str], path: Path, topic: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", "produce", "statuses", str(path), "--topic", topic],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def statuses_file(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "statuses.jsonl"
    path.write_text("".join(json.dumps({"id": str(i), "content": f"<p>post {i}</p>"}) + "\n"
                            for i in range(1, n + 1)))  # fmt: skip
    return path


def test_round_trip_with_right_credentials(
    secure_broker: tuple[str, Path, Path], tmp_path: Path
) -> None:
    bootstrap, ca, _ = secure_broker
    env = secure_env(bootstrap, ca)
    sent = produce(env, statuses_file(tmp_path, 50), "secure.raw")
    assert sent.returncode == 0, sent.stderr
    assert "sent 50, rejected 0" in sent.stdout

    worker_env = {
        **env, "STREAMS_APP_ID": "secure-app", "STREAMS_WEB_PORT": str(launcher.free_port()),
        "STREAMS_DATA_DIR": str(tmp_path / "data"), "STREAMS_CLASSIFIER_ENABLED": "false",
        "STREAMS_HARVESTER_ENABLED": "false", "STREAMS_MIRROR_SOURCE_TOPIC": "secure.raw",
        "STREAMS_MIRROR_TARGET_TOPIC": "secure.copy",
    }  # fmt: skip

    async def read_copy() -> set[bytes]:
        options = client_options(Settings(**{  # type: ignore[arg-type]
            "kafka_security_protocol": "SASL_SSL", "kafka_sasl_username": USER,
            "kafka_sasl_password": PASSWORD, "kafka_ssl_cafile": ca,
        }))  # fmt: skip
        consumer = AIOKafkaConsumer(
            "secure.copy", bootstrap_servers=bootstrap, auto_offset_reset="earliest", **options
        )
        await consumer.start()
        keys: set[bytes] = set()
        try:
            deadline = time.monotonic() + 60
            while len(keys) < 50 and time.monotonic() < deadline:
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    keys |= {r.key for r in batch if r.key is not None}
        finally:
            await consumer.stop()
        return keys

    with WorkerProcess(worker_env, tmp_path / "worker.log") as worker:
        worker.wait_ready()
        keys = asyncio.run(read_copy())
    assert keys == {str(i).encode() for i in range(1, 51)}


@pytest.mark.parametrize("fault", ["wrong password", "untrusted CA"])
def test_clear_error_within_30_s(
    secure_broker: tuple[str, Path, Path], tmp_path: Path, fault: str
) -> None:
    bootstrap, ca, stranger = secure_broker
    if fault == "wrong password":
        env, expected = secure_env(bootstrap, ca, "not the password"), "SASL authentication"
    else:
        env, expected = secure_env(bootstrap, stranger), "TLS: the certificate"

    started = time.monotonic()
    result = produce(env, statuses_file(tmp_path, 3), "secure.denied")
    assert result.returncode == 2 and expected in result.stderr, result.stderr
    assert time.monotonic() - started < 30

    started = time.monotonic()
    worker = WorkerProcess(
        {**env, "STREAMS_WEB_PORT": str(launcher.free_port()),
         "STREAMS_DATA_DIR": str(tmp_path / "data")},
        tmp_path / "worker.log",
    ).start()  # fmt: skip
    assert worker.proc is not None
    try:
        code = worker.proc.wait(timeout=30)
    finally:
        worker.kill()
    log = (tmp_path / "worker.log").read_text()
    assert code == 2 and expected in log, log[-2000:]
    assert "not the password" not in log


def test_debug_logs_and_metrics_hold_no_secret_and_no_post_text(
    secure_broker: tuple[str, Path, Path], tmp_path: Path,
    local_llm: Callable[..., LocalLLMProcess],
) -> None:
    bootstrap, ca, _ = secure_broker
    api_key = "local-test-key-9f8e7d6c5b4a39281706"
    marker = "Zwijgzaamheidsproef"  # a word that occurs nowhere but in these posts
    posts = [
        {"id": str(900 + i), "content": f"<p>{marker} {i}: de linkse ratten</p>",
         "spoiler_text": f"{marker} cw", "language": "nl"}
        for i in range(20)
    ]  # fmt: skip
    path = tmp_path / "posts.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in posts))
    env = secure_env(bootstrap, ca)
    llm = local_llm(fault_rate=0.3, seed=3)
    worker_env = {
        **env, "STREAMS_APP_ID": "secrets-app", "STREAMS_DATA_DIR": str(tmp_path / "data"),
        "STREAMS_WEB_PORT": str(launcher.free_port()), "STREAMS_TOPIC_RAW": "secrets.raw",
        "STREAMS_TOPIC_SCORED": "secrets.scored", "STREAMS_TOPIC_DLQ": "secrets.dlq",
        "STREAMS_TOPIC_CORRECTIONS": "secrets.corrections",
        "STREAMS_TOPIC_TRAINING": "secrets.training", "STREAMS_SCORING_BACKEND": "openai",
        "OPENAI_API_KEY": api_key, "STREAMS_OPENAI_BASE_URL": llm.base_url,
        "STREAMS_OPENAI_BACKOFF_S": "0.05", "STREAMS_MAX_ATTEMPTS": "2",
        "STREAMS_LOG_LEVEL": "DEBUG",
    }  # fmt: skip
    worker = WorkerProcess(worker_env, tmp_path / "worker.log", loglevel="debug").start()
    try:
        worker.wait_ready()
        sent = produce(env, path, "secrets.raw")
        assert sent.returncode == 0, sent.stderr

        async def scored() -> int:
            options = client_options(Settings(
                kafka_security_protocol="SASL_SSL", kafka_sasl_username=USER,
                kafka_sasl_password=PASSWORD, kafka_ssl_cafile=ca,
            ))  # fmt: skip
            consumer = AIOKafkaConsumer(
                "secrets.scored", "secrets.dlq", bootstrap_servers=bootstrap,
                auto_offset_reset="earliest", **options,
            )  # fmt: skip
            await consumer.start()
            seen: set[bytes] = set()
            try:
                deadline = time.monotonic() + 60
                while len(seen) < 20 and time.monotonic() < deadline:
                    for batch in (await consumer.getmany(timeout_ms=500)).values():
                        seen |= {r.key for r in batch if r.key is not None}
            finally:
                await consumer.stop()
            return len(seen)

        assert asyncio.run(scored()) == 20
        with urllib.request.urlopen(worker.web_url + "/metrics", timeout=10) as response:
            exposition = response.read().decode()
    finally:
        worker.stop()
    log = (tmp_path / "worker.log").read_text(errors="replace")
    assert "DEBUG" in log, "the worker did not log at DEBUG"
    for name, text in (("log", log), ("metrics", exposition)):
        for secret in (api_key, PASSWORD):
            assert secret not in text, f"a secret is in the {name}"
        assert marker not in text, f"post text is in the {name}"
        assert "linkse ratten" not in text, f"post text is in the {name}"
