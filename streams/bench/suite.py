"""``streams bench latency|harvester|memory|llama``: each benchmark's options and defaults, the
run, the JSON object printed, the exit status.

Exit status: 0 the run held the delivery guarantees (every post scored or dead-lettered, none
with scores the LLM did not give; the harvester's export right), 1 otherwise, 2 it could not
run. Missing a performance target is reported in the JSON (``meets_target``), not as a failure:
the figures are what a benchmark is for.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from streams.bench.classify import resolve_bootstrap
from streams.errors import StreamsError
from streams.settings import Settings

#: What each benchmark uses for an option the user did not give.
DEFAULTS: Final[Mapping[str, Mapping[str, Any]]] = {
    "latency": {"posts": 3000, "latency_ms": 1000.0, "duration_s": 60.0},
    "harvester": {"posts": 20_000, "corrections": 50_000},
    "memory": {"rate": 100.0, "duration_s": 120.0},
    "llama": {"posts": 50},
}
BENCHMARKS: Final = tuple(DEFAULTS)


def resolve(what: str, options: Mapping[str, Any], given: set[str]) -> dict[str, Any]:
    """The options a benchmark runs with: those given, else its own defaults, else the
    command's. ``given`` names the options the user set."""
    defaults = DEFAULTS[what]
    resolved = dict(options)
    for name, value in defaults.items():
        if name not in given or options.get(name) is None:
            resolved[name] = value
    return resolved


def _latency(o: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    from streams.bench.latency import LatencyConfig, run_latency

    return run_latency(LatencyConfig(
        burst_posts=o["posts"], duration_s=o["duration_s"], rate=o.get("rate"),
        latency_ms=o["latency_ms"], batch_size=o["batch_size"], partitions=o["partitions"],
        bootstrap=o["bootstrap"],
    ), settings)  # fmt: skip


def _memory(o: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    from streams.bench.memory import MemoryConfig, run_memory

    return run_memory(MemoryConfig(
        rate=o["rate"], duration_s=o["duration_s"], latency_ms=o["latency_ms"],
        batch_size=o["batch_size"], partitions=o["partitions"], bootstrap=o["bootstrap"],
    ), settings)  # fmt: skip


def _harvester(o: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    from streams.bench.harvester import HarvesterConfig, run_harvester

    return run_harvester(HarvesterConfig(
        posts=o["posts"], corrections=o["corrections"], partitions=o["partitions"],
        bootstrap=o["bootstrap"], skip_baseline=o["skip_baseline"],
    ), settings)  # fmt: skip


def _llama(o: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    from streams.bench.llama import LlamaConfig, run_llama

    config = LlamaConfig(posts=o["posts"], batch_size=o["batch_size"], model=o.get("model"))
    return run_llama(config, settings)


_RUNNERS: Final[Mapping[str, Callable[[Mapping[str, Any], Settings], dict[str, Any]]]] = {
    "latency": _latency,
    "memory": _memory,
    "harvester": _harvester,
    "llama": _llama,
}


def run_named(what: str, options: Mapping[str, Any], given: set[str], settings: Settings) -> int:
    """Run one benchmark, print its JSON object, return the exit status."""
    resolved = resolve(what, options, given)
    resolved["bootstrap"] = resolve_bootstrap(resolved.get("bootstrap"), settings)
    if isinstance(resolved.get("model"), str):
        resolved["model"] = Path(resolved["model"])
    load_before = os.getloadavg()
    try:
        report = _RUNNERS[what](resolved, settings)
    except StreamsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # Other processes on the machine skew every figure: say how busy it was.
    report["host"] = {"cpus": os.cpu_count(), "load_average_1m_before": load_before[0],
                      "load_average_1m_after": os.getloadavg()[0]}  # fmt: skip
    print(json.dumps(report, indent=2))
    return 0 if report["ok"] else 1


def given_options(command: object, options: Mapping[str, Any]) -> set[str]:
    """The options the user set on the command line (the others may take a benchmark's own
    default). ``command`` is the Faust command, which holds the click context."""
    import click

    ctx = getattr(command, "ctx", None)
    if not isinstance(ctx, click.Context):
        return set(options)
    default = click.core.ParameterSource.DEFAULT
    return {name for name in options if ctx.get_parameter_source(name) not in (None, default)}
