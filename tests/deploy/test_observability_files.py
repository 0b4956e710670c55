"""Prometheus config, alert rules and the Grafana dashboard, checked as files: promtool, and
that every query reads only metrics the worker declares (and every metric is on a panel)."""

from __future__ import annotations

import yaml
from observability_files import (
    ALERTS_TEST_YML,
    ALERTS_YML,
    DASHBOARD,
    DATASOURCE_REF,
    PROMETHEUS_YML,
    all_panels,
    concrete,
    dashboard,
    declared_series_names,
    metric_names,
    promtool,
    query_panels,
    rule_groups,
)

from streams import metrics

# --- static checks -------------------------------------------------------------------------


def test_promtool_check_config() -> None:
    # The compose target worker:6066 need not resolve: check config does not scrape.
    assert "SUCCESS" in promtool("check", "config", str(PROMETHEUS_YML))


def test_promtool_check_rules() -> None:
    assert "SUCCESS" in promtool("check", "rules", str(ALERTS_YML))


def test_promtool_test_rules() -> None:
    assert "SUCCESS" in promtool("test", "rules", str(ALERTS_TEST_YML))


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    alerts = {r["alert"] for g in rule_groups() for r in g["rules"] if "alert" in r}
    tests = yaml.safe_load(ALERTS_TEST_YML.read_text())["tests"]
    firing: set[str] = set()
    quiet: set[str] = set()
    for case in tests:
        for check in case.get("alert_rule_test", []):
            (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert alerts - firing == set(), "alerts without a firing case in alerts_test.yml"
    assert alerts - quiet == set(), "alerts without a quiet case in alerts_test.yml"


def test_dashboard_is_provisionable_as_is() -> None:
    board = dashboard()
    assert board["uid"] == "streams-moderation"
    assert "__inputs" not in board and "${DS_" not in DASHBOARD.read_text()
    assert 36 <= board["schemaVersion"] <= 41
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    panels = query_panels()
    ids = [p["id"] for p in all_panels(board["panels"])]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels:
        title = panel["title"]
        assert panel["datasource"] == DATASOURCE_REF, f"panel {title!r} ignores $datasource"
        assert panel["targets"], f"panel {title!r} has no query"
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE_REF, f"a query of {title!r}"
            assert target["expr"].strip(), f"empty query in {title!r}"
            concrete(target["expr"])  # only variables the proof test knows


def test_dashboard_and_rules_read_only_declared_metrics() -> None:
    declared = declared_series_names()
    used: dict[str, set[str]] = {}
    for panel in query_panels():
        used[f"panel {panel['title']!r}"] = set().union(
            *(metric_names(t["expr"]) for t in panel["targets"])
        )
    for group in rule_groups():
        for rule in group["rules"]:
            used[rule.get("alert") or rule["record"]] = metric_names(rule["expr"])
    unknown = {where: names - declared for where, names in used.items() if names - declared}
    assert unknown == {}, "names not in streams/metrics.py (renamed or missing?)"


def test_every_metric_is_on_the_dashboard() -> None:
    on_panels = set().union(
        *(metric_names(t["expr"]) for p in query_panels() for t in p["targets"])
    )
    shown = {n.removesuffix(s) for n in on_panels for s in ("_total", "_bucket", "_sum", "_count")}
    absent = {f.name for f in metrics.REGISTRY.collect()} - shown
    assert absent == set(), "metrics of streams/metrics.py that no panel shows"


