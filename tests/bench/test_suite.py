"""``streams bench latency|harvester|memory|llama``: options and defaults; the rig's pure parts."""

from __future__ import annotations

import click
import pytest

from streams.bench.rig import pace_s, parse_cpu_seconds
from streams.bench.suite import BENCHMARKS, DEFAULTS, given_options, resolve

OPTIONS = {"posts": 5000, "latency_ms": 0.0, "duration_s": None, "rate": None, "batch_size": 25}


def test_each_benchmark_takes_its_own_defaults_for_options_not_given() -> None:
    latency = resolve("latency", OPTIONS, given=set())
    assert latency["posts"] == 3000 and latency["latency_ms"] == 1000.0
    assert latency["duration_s"] == 60.0 and latency["rate"] is None
    assert latency["batch_size"] == 25  # the command's default
    assert resolve("memory", OPTIONS, given=set())["rate"] == 100.0
    assert resolve("llama", OPTIONS, given=set())["posts"] == 50
    assert set(BENCHMARKS) == set(DEFAULTS) == {"latency", "harvester", "memory", "llama"}


def test_options_given_win_over_a_benchmarks_defaults() -> None:
    given = resolve(
        "latency", {**OPTIONS, "posts": 5000, "latency_ms": 0.0}, {"posts", "latency_ms"}
    )
    assert given["posts"] == 5000 and given["latency_ms"] == 0.0


def test_given_options_are_read_from_the_click_context() -> None:
    class Command:
        ctx = click.Context(click.Command("bench"))

    Command.ctx.set_parameter_source("posts", click.core.ParameterSource.COMMANDLINE)
    Command.ctx.set_parameter_source("rate", click.core.ParameterSource.DEFAULT)
    assert given_options(Command(), OPTIONS) == {"posts"}
    assert given_options(object(), OPTIONS) == set(OPTIONS)  # no context: trust the values


def test_a_steady_stream_is_due_at_index_over_rate() -> None:
    assert pace_s(0, 50.0) == 0.0 and pace_s(100, 50.0) == 2.0
    with pytest.raises(ValueError):
        pace_s(1, 0.0)


def test_cpu_seconds_are_utime_plus_stime_after_the_command_name() -> None:
    stat = "42 (my (odd) cmd) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 99 0"
    assert parse_cpu_seconds(stat, 100) == 3.0
