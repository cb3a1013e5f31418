"""The metric names follow Prometheus' conventions, and docs/operations.md, the alerts and the
dashboard name exactly the metrics the code exposes (no binary needed: pure checks)."""

from __future__ import annotations

import re

import yaml

from tests.ops.catalogue import (
    ALERTS_TEST,
    OPERATIONS,
    PROMETHEUS_OWN,
    alert_rules,
    code_metrics,
    dashboard_panels,
    metrics_in,
)

# A gauge or histogram names its unit (plural, base units); these few are 0/1 states.
UNITS = ("_seconds", "_bytes", "_files", "_folders", "_entries")
STATES = {"newsdrop_ready", "newsdrop_ready_check", "newsdrop_ingest_backfill_done"}


def test_metric_names_follow_prometheus_conventions() -> None:
    for family in code_metrics():
        name = family.name
        assert re.fullmatch(r"newsdrop_[a-z][a-z0-9_]*", name), name
        if family.kind == "counter":
            assert name.endswith("_total"), name
        else:
            assert not name.endswith("_total"), name
            assert name.endswith(UNITS) or name in STATES, f"{name}: no unit in the name"
        assert not re.search(r"_(milliseconds|ms|millis|kilobytes|minutes)\b", name), name
        for label in family.labels:
            assert re.fullmatch(r"[a-z][a-z0-9_]*", label), (name, label)
            assert label != "partition", f"{name}: P can be 1024 series"


def documented_metrics() -> set[str]:
    """The first column of every `| metric | type | meaning |` table of docs/operations.md."""
    names, in_table = set(), False
    for line in OPERATIONS.read_text().splitlines():
        if line.startswith("| metric | type |"):
            in_table = True
        elif not line.startswith("|"):
            in_table = False
        elif in_table and (found := re.match(r"\| `(newsdrop_[a-z0-9_]+)", line)):
            names.add(found.group(1))
    return names


def test_operations_md_lists_every_metric_and_no_other() -> None:
    exposed = {family.name for family in code_metrics()}
    documented = documented_metrics()
    assert exposed - documented == set(), "exposed, not in docs/operations.md"
    assert documented - exposed == set(), "in docs/operations.md, not exposed"


def test_operations_md_lists_every_alert_and_panel() -> None:
    text = OPERATIONS.read_text()
    for rule in alert_rules():
        assert f"`{rule['alert']}`" in text, rule["alert"]
    for panel in dashboard_panels():
        assert f"| {panel.title} |" in text, panel.title


def test_alerts_and_panels_read_only_exposed_metrics() -> None:
    exposed = {family.name for family in code_metrics()} | PROMETHEUS_OWN
    for rule in alert_rules():
        read = metrics_in(rule["expr"])
        assert read and read <= exposed, (rule["alert"], read - exposed)
    for panel in dashboard_panels():
        for expr in panel.exprs:
            read = metrics_in(expr)
            assert read and read <= exposed, (panel.title, read - exposed)


def test_every_alert_has_a_unit_test_that_fires_it() -> None:
    tests = yaml.safe_load(ALERTS_TEST.read_text())["tests"]
    fired = {
        check["alertname"]
        for test in tests
        for check in test["alert_rule_test"]
        if check.get("exp_alerts")
    }
    checked_quiet = {
        check["alertname"]
        for test in tests
        for check in test["alert_rule_test"]
        if not check.get("exp_alerts")
    }
    alerts = {rule["alert"] for rule in alert_rules()}
    assert alerts - fired == set(), "alerts no unit test fires"
    assert alerts - checked_quiet == set(), "alerts no unit test checks quiet"
