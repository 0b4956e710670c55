"""The worker processes of a ``streams chaos`` run: started, killed, paused, and restarted
when they die on their own, as a supervisor would."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from streams.agents.app_options import faust_options
from streams.settings import Settings
from streams.testing.console import say
from streams.testing.workers import WorkerProcess

#: Faust's broker_session_timeout when the settings do not set one.
FAUST_SESSION_TIMEOUT_S: Final = 60.0
READY_TIMEOUT_S: Final = 120.0


def progress(message: str) -> None:
    say("chaos", message)


def worker_session_timeout_s(env: Mapping[str, str]) -> float:
    """The consumer session timeout the workers run with (Faust's default unless set)."""
    fields = {k.removeprefix("STREAMS_").lower(): v for k, v in env.items()
              if k.startswith("STREAMS_")}  # fmt: skip
    options = faust_options(Settings.model_validate(fields))
    return float(options.get("broker_session_timeout", FAUST_SESSION_TIMEOUT_S))


class Workers:
    """The worker slots; each start of a slot is a new process with a new log file."""

    def __init__(self, env_for: Callable[[int], dict[str, str]], log_dir: Path, count: int):
        self.env_for = env_for
        self.log_dir = log_dir
        self.procs: list[WorkerProcess | None] = [None] * count
        self.starts = [0] * count
        self.crashes: list[dict[str, Any]] = []

    def start(self, slot: int) -> float:
        """Start the slot's worker; return the seconds until its web server answered."""
        started = time.monotonic()
        self.starts[slot] += 1
        log = self.log_dir / f"worker{slot}-{self.starts[slot]}.log"
        proc = WorkerProcess(self.env_for(slot), log).start()
        self.procs[slot] = proc
        proc.wait_ready(READY_TIMEOUT_S)
        return round(time.monotonic() - started, 3)

    def running(self) -> list[int]:
        return [s for s, p in enumerate(self.procs) if p is not None and p.proc is not None
                and p.proc.poll() is None]  # fmt: skip

    def kill(self, slot: int) -> None:
        proc = self.procs[slot]
        if proc is not None:
            proc.kill()
        self.procs[slot] = None

    def signal(self, slot: int, sig: signal.Signals) -> None:
        proc = self.procs[slot]
        if proc is not None:
            proc.signal(sig)

    def restart_crashed(self, clock: Callable[[], float]) -> None:
        """A worker that exited on its own is started again, as a supervisor would."""
        for slot, proc in enumerate(self.procs):
            if proc is None or proc.proc is None or proc.proc.poll() is None:
                continue
            self.crashes.append({"worker": slot, "at_s": clock(), "exit_code": proc.proc.returncode,
                                 "log": str(proc.log_path)})  # fmt: skip
            progress(f"worker {slot} exited with {proc.proc.returncode}; restarting it")
            self.start(slot)

    def stop_all(self) -> list[int | None]:
        codes: list[int | None] = []
        for slot, proc in enumerate(self.procs):
            codes.append(None if proc is None else proc.stop())
            self.procs[slot] = None
        return codes
