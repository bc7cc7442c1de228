"""The alert rules and the Grafana dashboard in deploy/: Prometheus's own promtool parses
the rules and runs their unit tests (deploy/prometheus/alerts.test.yaml), every dashboard
expression parses, and both are complete and well-formed. That every metric they name is
exported is checked against the running services in
tests/integration/test_operations_metrics.py."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.monitoring import (
    ALERT_TESTS,
    ALERTS,
    GRAFANA_VARIABLES,
    dashboard_expressions,
    dashboard_panels,
    expand_grafana_variables,
    load_dashboard,
    load_rules,
    metric_names,
)

# What issue 10 asks operators to be alerted for, by alert name.
REQUIRED_ALERTS = {
    "OutboxEventStuck", "MailerDeadLettersGrowing", "MailerFailureRatioHigh", "ReadinessFlapping",
}


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        message = "promtool not found: apt-get install prometheus (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def run_promtool(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *arguments], capture_output=True, text=True, timeout=60, check=False
    )


# --- PromQL names ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("up", {"up"}),
        ('max by (namespace, outbox) (outbox_oldest_event_age_seconds{kind="x"}) > 60',
         {"outbox_oldest_event_age_seconds"}),
        ("sum(rate(a_total[5m])) by (job) / on (job) group_left(le) b offset 1h", {"a_total", "b"}),
        ('histogram_quantile(0.95, sum by (le) (rate(h_bucket{route!~"/metrics|x"}[$__rate_interval])))',
         {"h_bucket"}),
        ("sum by (${service_label}, check) (increase(c_total[15m])) > 3e2 and d", {"c_total", "d"}),
        ("count(g == 0) or vector(0)", {"g"}),
    ],
)
def test_metric_names_are_read_out_of_promql(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


# --- the alert rules -------------------------------------------------------------------


def test_the_rules_parse_with_promtool() -> None:
    result = run_promtool("check", "rules", str(ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_alerts_fire_as_their_unit_tests_expect() -> None:
    result = run_promtool("test", "rules", str(ALERT_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_alerts_operators_need_exist_and_say_what_to_do() -> None:
    alerts = [rule for rule in load_rules() if "alert" in rule]
    names = [rule["alert"] for rule in alerts]
    assert len(names) == len(set(names))
    assert set(names) >= REQUIRED_ALERTS
    for rule in alerts:
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"].strip(), rule["alert"]
        assert len(rule["annotations"]["description"]) > 40, rule["alert"]


def test_every_alert_has_a_unit_test_that_fires_it() -> None:
    document = yaml.safe_load(ALERT_TESTS.read_text())
    fired = {
        case["alertname"]
        for test in document["tests"]
        for case in test.get("alert_rule_test", [])
        if case["exp_alerts"]
    }
    assert fired == {rule["alert"] for rule in load_rules() if "alert" in rule}


# --- the dashboard ---------------------------------------------------------------------


def test_the_dashboard_is_an_importable_grafana_dashboard() -> None:
    dashboard = load_dashboard()
    assert dashboard["uid"] == "kundenportal" and dashboard["title"]
    assert dashboard["schemaVersion"] >= 36
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert {"datasource", "service_label"} <= variables
    assert set(GRAFANA_VARIABLES) - {"__rate_interval", "__interval"} <= variables

    panels = dashboard_panels()
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["w"] > 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        covered = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"])
                   for y in range(grid["y"], grid["y"] + grid["h"])}
        assert not covered & cells, f"{panel['title']} overlaps another panel"
        cells |= covered
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["description"], panel["title"]
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert ref_ids and len(ref_ids) == len(set(ref_ids)), panel["title"]
        assert all(t["expr"].strip() for t in panel["targets"]), panel["title"]


def test_every_dashboard_expression_parses(tmp_path: Path) -> None:
    # promtool parses PromQL only inside rule files: each expression becomes a recording rule.
    rules = [
        {"record": f"dashboard:expression_{n}", "expr": expand_grafana_variables(expr)}
        for n, expr in enumerate(dashboard_expressions())
    ]
    assert rules
    path = tmp_path / "dashboard-expressions.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = run_promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
