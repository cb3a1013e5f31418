"""What the code exposes and what deploy/ and docs/ name: the metric catalogue of both services
(as scraped: counters with ``_total``), the alerts, the dashboard's panels and their queries."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from newsdrop.ingest.metrics import IngestMetrics
from newsdrop.shared.ops import readiness_gauges
from newsdrop.store.metrics import StoreMetrics

REPO = Path(__file__).resolve().parents[2]
ALERTS = REPO / "deploy" / "prometheus" / "alerts.yml"
ALERTS_TEST = REPO / "deploy" / "prometheus" / "alerts_test.yml"
PROMETHEUS_CONFIG = REPO / "deploy" / "prometheus" / "prometheus.yml"
DASHBOARD = REPO / "deploy" / "grafana" / "newsdrop.json"
OPERATIONS = REPO / "docs" / "operations.md"
# Series Prometheus makes itself (per target), not newsdrop's.
PROMETHEUS_OWN = {"up"}


@dataclass(frozen=True)
class Family:
    name: str  # as scraped (a counter's with _total)
    kind: str  # counter, gauge, histogram
    labels: tuple[str, ...]
    service: str


def _families(registry: CollectorRegistry, service: str) -> list[Family]:
    found = []
    for family in registry.collect():
        name = f"{family.name}_total" if family.type == "counter" else family.name
        labels = sorted({k for s in family.samples for k in s.labels if k != "le"})
        found.append(Family(name, family.type, tuple(labels), service))
    return found


def code_metrics() -> list[Family]:
    """Every metric family of both services, readiness gauges included."""
    ingest = IngestMetrics.create()
    readiness_gauges(ingest.registry, ("redis", "watcher", "backfill"))
    store = StoreMetrics.create()
    readiness_gauges(store.registry, ("redis", "consumer"))
    return _families(ingest.registry, "ingest") + _families(store.registry, "store")


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


@dataclass(frozen=True)
class Panel:
    title: str
    exprs: tuple[str, ...]


def dashboard_panels() -> list[Panel]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        Panel(p["title"], tuple(t["expr"] for t in p["targets"]))
        for p in dashboard["panels"]
        if p["type"] != "row"
    ]


def metrics_in(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (histogram series by their family name)."""
    names = set(re.findall(r"\b(newsdrop_[a-z0-9_]+|up)\b", expr))
    return {n.removesuffix("_bucket") for n in names}


def tool(name: str) -> Path:
    """A Prometheus binary, or a skip naming how to get it."""
    found = shutil.which(name)
    if found is None:
        pytest.skip(
            f"Prometheus tests skipped: `{name}` not on PATH "
            "(scripts/ensure-prometheus.sh installs Debian's prometheus package as root)"
        )
    return Path(found)
