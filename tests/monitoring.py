"""Reading what operators watch: the alert rules, the Grafana dashboard, the metric names
their PromQL expressions use, and the names a `/metrics` answer exports."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yaml"
ALERT_TESTS = ROOT / "deploy" / "prometheus" / "alerts.test.yaml"
DASHBOARD = ROOT / "deploy" / "grafana" / "kundenportal.json"

# What a Grafana variable stands for when an expression is checked outside Grafana.
GRAFANA_VARIABLES = {"__rate_interval": "5m", "__interval": "1m", "service_label": "job"}

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"(?<![\w:.])([A-Za-z_:][\w:]*)(\s*\()?")
_KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "offset", "bool", "atan2", "inf", "nan", "Inf", "NaN",
}


def expand_grafana_variables(expr: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in GRAFANA_VARIABLES:
            raise KeyError(f"unknown Grafana variable ${name} in {expr!r}")
        return GRAFANA_VARIABLES[name]

    return _VARIABLE.sub(value, expr)


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (not functions, labels or keywords)."""
    text = _STRING.sub('""', expand_grafana_variables(expr))
    text = _MATCHERS.sub("", text)
    text = _RANGE.sub("", text)
    text = _GROUPING.sub(" ", text)
    return {
        word for word, call in _IDENTIFIER.findall(text) if not call and word not in _KEYWORDS
    }


def load_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def recorded_names() -> set[str]:
    return {rule["record"] for rule in load_rules() if "record" in rule}


def rule_metric_names() -> set[str]:
    """Every metric the rules read, less the series the rules record themselves."""
    names = set().union(*(metric_names(rule["expr"]) for rule in load_rules()))
    return names - recorded_names()


def load_dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def dashboard_panels() -> list[dict[str, Any]]:
    def walk(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
        found = []
        for panel in panels:
            found.append(panel)
            found.extend(walk(panel.get("panels", [])))
        return found

    return walk(load_dashboard()["panels"])


def dashboard_expressions() -> list[str]:
    return [t["expr"] for p in dashboard_panels() for t in p.get("targets", []) if "expr" in t]


def dashboard_metric_names() -> set[str]:
    return set().union(*(metric_names(expr) for expr in dashboard_expressions()))


def prometheus_own_series() -> set[str]:
    """Series Prometheus makes itself, which no service exports."""
    return {"up", "scrape_duration_seconds", "scrape_samples_scraped", "ALERTS", "ALERTS_FOR_STATE"}


def exported_sample_names(metrics_text: str) -> set[str]:
    """The sample names a `/metrics` answer exports or will once a labelled series exists:
    a counter `x` is `x_total` (and `x_created`), a histogram `x_bucket`, `x_sum`, `x_count`."""
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "summary": ("", "_sum", "_count", "_created"),
        "gauge": ("",),
        "info": ("_info",),
        "stateset": ("",),
        "untyped": ("",),
        "unknown": ("",),
    }
    names: set[str] = set()
    for family in text_string_to_metric_families(metrics_text):
        names.update(family.name + suffix for suffix in suffixes[family.type])
        names.update(sample.name for sample in family.samples)
    return names


def samples(metrics_text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """Every sample called `name`: its labels and value."""
    return [
        (dict(sample.labels), sample.value)
        for family in text_string_to_metric_families(metrics_text)
        for sample in family.samples
        if sample.name == name
    ]
