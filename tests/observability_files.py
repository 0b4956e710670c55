"""The observability files (Prometheus config, alert rules, Grafana dashboard) as data,
and the Prometheus tools that check them. Shared by the static checks and the live proof."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams import metrics

REPO = Path(__file__).resolve().parents[1]
PROMETHEUS_DIR = REPO / "deploy" / "prometheus"
PROMETHEUS_YML = PROMETHEUS_DIR / "prometheus.yml"
ALERTS_YML = PROMETHEUS_DIR / "alerts.yml"
ALERTS_TEST_YML = PROMETHEUS_DIR / "alerts_test.yml"
DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "streams.json"
DATASOURCE_REF = {"type": "prometheus", "uid": "${datasource}"}
INSTALL_HINT = "run `bash scripts/install-prometheus` (Debian's prometheus package)"
WORKER_JOB = "streams-worker"

#: Grafana's built-in variables, as the proof test sets them: windows of several 1 s scrapes.
GRAFANA_VARIABLES = {"__rate_interval": "30s", "__interval": "5s", "__range": "5m"}


# --- helpers -------------------------------------------------------------------------------


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"`{name}` is not on PATH: {INSTALL_HINT}")
    return path


def promtool(*args: str) -> str:
    result = subprocess.run(
        [tool("promtool"), *args], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"promtool {' '.join(args)} failed:\n{output}"
    return output


def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def all_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every panel, including those inside collapsed rows."""
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels", []))


def query_panels() -> list[dict[str, Any]]:
    return [p for p in all_panels(dashboard()["panels"]) if p.get("type") != "row"]


def concrete(expr: str) -> str:
    """A panel expression with Grafana's variables replaced by durations Prometheus accepts."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        assert name in GRAFANA_VARIABLES, f"unknown variable ${name} in {expr!r}"
        return GRAFANA_VARIABLES[name]

    return re.sub(r"\$(?:\{(\w+)\}|(\w+))", value, expr)


def rule_groups() -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = yaml.safe_load(ALERTS_YML.read_text())["groups"]
    return groups


def metric_names(expr: str) -> set[str]:
    """The streams_* series an expression reads (recording rules, streams:..., excluded)."""
    return set(re.findall(r"(?<![\w:])streams_[a-z0-9_]+", expr))


def declared_series_names() -> set[str]:
    """Every series name streams/metrics.py can expose."""
    names: set[str] = set()
    for family in metrics.REGISTRY.collect():
        if family.type == "counter":
            names.add(family.name + "_total")
        elif family.type == "histogram":
            names |= {family.name + suffix for suffix in ("_bucket", "_sum", "_count")}
        else:
            names.add(family.name)
    return names


