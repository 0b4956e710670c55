"""Runs a real single-node Apache Kafka broker (KRaft, broker + controller) without Docker.

The broker comes from its Maven Central artifacts, resolved by ``mvn`` with the pom in
``deploy/kafka/`` into a cache directory outside the repository, and runs on the machine's Java.
Used by the test fixtures, by CI and by ``streams kafka up`` for the no-Docker quickstart.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from streams.errors import BrokerError, PortInUseError
from streams.kafka.jars import ensure_jars, require_tool

log = logging.getLogger(__name__)

_LOG4J2 = """\
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log_file}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = INFO
"""


@dataclass(frozen=True)
class SaslSsl:
    """Serve clients over SASL_SSL (SCRAM-SHA-512 over TLS) instead of PLAINTEXT.

    ``keystore_pem`` holds the broker's private key (unencrypted PKCS#8) and its certificate
    chain; the SCRAM user is created when the storage is formatted.
    """

    username: str
    password: str
    keystore_pem: Path


@dataclass(frozen=True)
class BrokerHandle:
    """What is needed to reach and stop a running broker; saved as JSON for ``kafka down``."""

    pid: int
    bootstrap: str
    data_dir: str
    log_file: str
    version: str

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> BrokerHandle | None:
        try:
            return cls(**json.loads(path.read_text()))
        except FileNotFoundError:
            return None
        except (ValueError, TypeError) as exc:
            raise BrokerError(f"{path} is not a broker state file ({exc}); delete it") from exc


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the broker binds: connections of a stopped broker in TIME_WAIT don't block a
        # restart on its port; a process listening there still does.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise PortInUseError(
                f"port {port} on {host} is already in use ({exc.strerror}): stop what holds it, "
                "or choose another port (--port N or STREAMS_KAFKA_PORT)"
            ) from None


def random_cluster_id() -> str:
    """A KRaft cluster id: a random UUID in Kafka's URL-safe base64 form."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):  # Kafka's own generator avoids these: they read as flags
            return text


def _listener_properties(
    port: int, controller_port: int, sasl_ssl: SaslSsl | None, internal_port: int
) -> dict[str, str]:
    if sasl_ssl is None:
        return {
            "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        }
    # Clients get SASL_SSL; the broker talks to itself on a loopback PLAINTEXT listener.
    return {
        "listeners": (
            f"SASL_SSL://127.0.0.1:{port},INTERNAL://127.0.0.1:{internal_port},"
            f"CONTROLLER://127.0.0.1:{controller_port}"
        ),
        "advertised.listeners": (
            f"SASL_SSL://127.0.0.1:{port},INTERNAL://127.0.0.1:{internal_port}"
        ),
        "inter.broker.listener.name": "INTERNAL",
        "listener.security.protocol.map": (
            "SASL_SSL:SASL_SSL,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT"
        ),
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": (
            "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        ),
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(sasl_ssl.keystore_pem),
    }


def existing_cluster_id(data_dir: Path) -> str | None:
    """The cluster id of storage formatted before, so a restart on the same data is accepted."""
    meta = data_dir / "log" / "meta.properties"
    try:
        for line in meta.read_text().splitlines():
            if line.startswith("cluster.id="):
                return line.split("=", 1)[1].strip()
    except OSError:
        return None
    return None


def server_properties(
    data_dir: Path,
    port: int,
    controller_port: int,
    sasl_ssl: SaslSsl | None = None,
    internal_port: int = 0,
) -> str:
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        **_listener_properties(port, controller_port, sasl_ssl, internal_port),
        "controller.listener.names": "CONTROLLER",
        "log.dirs": str(data_dir / "log"),
        "num.partitions": "1",
        # A single node: every internal topic has one replica.
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        # Tests and the demo start consumers right away; don't hold the first rebalance back.
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "true",
        "log.segment.bytes": str(64 * 1024 * 1024),
        "log.cleaner.dedupe.buffer.size": str(16 * 1024 * 1024),
    }
    return "".join(f"{k}={v}\n" for k, v in props.items())


def _java_cmd(java: str, jars: Path, heap: str, log4j: Path, main: str, *args: str) -> list[str]:
    return [
        java,
        f"-Xmx{heap}",
        "-Xms128m",
        "-XX:+UseG1GC",
        "-XX:TieredStopAtLevel=1",  # faster JIT warm-up matters more than peak speed here
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={log4j}",
        "-cp",
        f"{jars}/*",
        main,
        *args,
    ]


def broker_answers(
    bootstrap: str, timeout_s: float = 2.0, client_options: dict[str, Any] | None = None
) -> bool:
    """True when the broker at ``bootstrap`` answers a metadata request."""

    async def probe() -> bool:
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(
            bootstrap_servers=bootstrap,
            request_timeout_ms=int(timeout_s * 1000),
            **(client_options or {}),
        )
        try:
            await asyncio.wait_for(admin.start(), timeout_s)
            await asyncio.wait_for(admin.list_topics(), timeout_s)
            return True
        except Exception:
            return False
        finally:
            await admin.close()

    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    return asyncio.run(probe())


def _log_tail(log_file: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log_file.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log written)"


def _format_storage(
    java: str, jars: Path, log4j: Path, run_dir: Path, props: Path, sasl_ssl: SaslSsl | None
) -> None:
    scram = []
    if sasl_ssl is not None:
        # KRaft keeps SCRAM credentials in the metadata log: they are written at format time.
        scram = [
            "--add-scram",
            f"SCRAM-SHA-512=[name={sasl_ssl.username},password={sasl_ssl.password}]",
        ]

    fmt = subprocess.run(
        _java_cmd(
            java, jars, "256m", log4j, "kafka.tools.StorageTool",
            "format", "-t", existing_cluster_id(run_dir) or random_cluster_id(), "-c", str(props),
            "--ignore-formatted", *scram,
        ),
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if fmt.returncode != 0:
        raise BrokerError(
            f"formatting KRaft storage in {run_dir} failed (exit {fmt.returncode}): "
            f"{(fmt.stdout + fmt.stderr).strip()[-2000:]}"
        )


def _wait_until_answering(
    proc: subprocess.Popen[bytes], handle: BrokerHandle, timeout_s: float,
    probe_options: dict[str, Any] | None,
) -> None:  # fmt: skip
    """Return once the broker answers a metadata request; stop it and raise if it does not."""
    bootstrap, log_file, run_dir = handle.bootstrap, Path(handle.log_file), Path(handle.data_dir)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BrokerError(
                f"the Kafka broker exited with code {proc.returncode} while starting; "
                f"log: {log_file}\n{_log_tail(log_file)}\n{_log_tail(run_dir / 'broker.out')}"
            )
        if broker_answers(bootstrap, client_options=probe_options):
            return
        time.sleep(0.3)
    stop_broker(handle)
    raise BrokerError(
        f"the Kafka broker did not answer on {bootstrap} within {timeout_s:.0f} s; "
        f"log: {log_file}\n{_log_tail(log_file)}"
    )


def start_broker(
    *,
    cache_dir: Path,
    version: str,
    port: int = 0,
    heap: str = "512m",
    timeout_s: float = 90.0,
    data_dir: Path | None = None,
    sasl_ssl: SaslSsl | None = None,
    probe_options: dict[str, Any] | None = None,
) -> BrokerHandle:
    """Start a broker in the background and return once it answers a metadata request.

    ``port=0`` picks a free port. The process runs in its own session so it outlives the
    command that started it (``streams kafka up``); stop it with :func:`stop_broker`.
    """
    java = require_tool(
        "java", "install a Java 17+ runtime (e.g. `apt-get install openjdk-17-jre-headless`)"
    )
    if port:
        check_port_free("127.0.0.1", port)
    else:
        port = free_port()
    controller_port = free_port()
    jars = ensure_jars(cache_dir, version)

    run_dir = data_dir or Path(tempfile.mkdtemp(prefix="streams-kafka-"))
    run_dir.mkdir(parents=True, exist_ok=True)
    log_file = run_dir / "broker.log"
    log4j = run_dir / "log4j2.properties"
    log4j.write_text(_LOG4J2.format(log_file=log_file))
    props = run_dir / "server.properties"
    props.write_text(
        server_properties(run_dir, port, controller_port, sasl_ssl, free_port() if sasl_ssl else 0)
    )
    _format_storage(java, jars, log4j, run_dir, props, sasl_ssl)

    with open(run_dir / "broker.out", "ab") as out:
        proc = subprocess.Popen(
            _java_cmd(java, jars, heap, log4j, "kafka.Kafka", str(props)),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    bootstrap = f"127.0.0.1:{port}"
    handle = BrokerHandle(proc.pid, bootstrap, str(run_dir), str(log_file), version)
    _wait_until_answering(proc, handle, timeout_s, probe_options)
    return handle


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); reap it if it is ours.
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


def stop_broker(handle: BrokerHandle, timeout_s: float = 20.0, remove_data: bool = True) -> str:
    """Stop the broker: SIGTERM for a clean shutdown, SIGKILL if it is not gone in time."""
    how = "was not running"
    if pid_alive(handle.pid):
        os.kill(handle.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while pid_alive(handle.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        how = "stopped"
        if pid_alive(handle.pid):
            os.kill(handle.pid, signal.SIGKILL)
            while pid_alive(handle.pid):
                time.sleep(0.05)
            how = f"killed (no clean stop within {timeout_s:.0f} s)"
    if remove_data:
        shutil.rmtree(handle.data_dir, ignore_errors=True)
    return how


@contextmanager
def running_broker(
    *, cache_dir: Path, version: str, port: int = 0, heap: str = "512m", timeout_s: float = 90.0
) -> Iterator[BrokerHandle]:
    """A broker for the duration of a ``with`` block (test sessions, benchmarks)."""
    handle = start_broker(
        cache_dir=cache_dir, version=version, port=port, heap=heap, timeout_s=timeout_s
    )
    try:
        yield handle
    finally:
        stop_broker(handle)
