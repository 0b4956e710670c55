"""The broker of ``streams kafka up``: started once, found again through a state file."""

from __future__ import annotations

import sys
from pathlib import Path

from streams.kafka import launcher
from streams.settings import Settings


def state_file(settings: Settings) -> Path:
    return settings.cache_dir / "run" / "kafka.json"


def kafka_up(settings: Settings, port: int) -> str:
    """Start the broker unless it runs already; return its bootstrap address."""
    state = state_file(settings)
    running = launcher.BrokerHandle.load(state)
    if running and launcher.pid_alive(running.pid):
        print(
            f"already running (pid {running.pid}, log {running.log_file})", file=sys.stderr
        )
        return running.bootstrap
    handle = launcher.start_broker(
        cache_dir=settings.cache_dir,
        version=settings.kafka_version,
        port=port,
        heap=settings.kafka_heap,
        timeout_s=settings.kafka_start_timeout_s,
    )
    handle.save(state)
    return handle.bootstrap


def kafka_down(settings: Settings) -> str:
    state = state_file(settings)
    handle = launcher.BrokerHandle.load(state)
    if handle is None:
        return "no broker started by `streams kafka up` is known"
    how = launcher.stop_broker(handle)
    state.unlink(missing_ok=True)
    return f"broker {handle.bootstrap} (pid {handle.pid}) {how}"


def kafka_status(settings: Settings) -> tuple[bool, str]:
    handle = launcher.BrokerHandle.load(state_file(settings))
    if handle is None:
        return False, "down: no broker started by `streams kafka up`"
    if not launcher.pid_alive(handle.pid):
        return False, f"down: pid {handle.pid} is gone (log {handle.log_file})"
    if not launcher.broker_answers(handle.bootstrap):
        return False, f"not answering: {handle.bootstrap} (pid {handle.pid}, log {handle.log_file})"
    return True, f"up: {handle.bootstrap} (pid {handle.pid}, Kafka {handle.version})"
