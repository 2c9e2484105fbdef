"""The Grafana dashboard: every metric it queries is one `/metrics` serves, every label it
groups by is one of that metric's, and the chart ships it as an optional ConfigMap."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from alloy_scripting.storage import InMemoryStores
from tests.unit.api.fixtures import client_for, make_api, make_runtime
from tests.unit.deploy.test_helm_render import render

DASHBOARD = (
    Path(__file__).resolve().parents[3] / "helm/alloy-scripting/dashboards/alloy-scripting.json"
)
METRIC = re.compile(r"\b(alloy_[a-z_]+?)(_bucket|_sum|_count)?\b(?=\s*[{\[)])")
BY = re.compile(r"by \(([^)]*)\) \(\s*(?:rate|increase)?\(?\s*(alloy_[a-z_]+?)(?:_bucket)?[{\[]")
IMPLICIT = {"le", "job", "instance"}


def expressions() -> list[str]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    found = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    found += [v["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    return found


async def served() -> dict[str, set[str]]:
    """Metric names `/metrics` serves (with a histogram's and a counter's sample names), and
    the labels of each."""
    app = make_api(make_runtime(InMemoryStores()))
    async with client_for(app) as client:
        text = (await client.get("/metrics")).text
    families: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        labels = {label for s in family.samples for label in s.labels}
        names = {family.name, f"{family.name}_total"} if family.type == "counter" else {family.name}
        for name in names:
            families[name] = labels
    return families


async def test_every_queried_metric_is_served() -> None:
    families = await served()
    queried = {m.group(1) for e in expressions() for m in METRIC.finditer(e)}
    assert len(queried) >= 10, queried
    missing = sorted(queried - set(families))
    assert not missing, f"the dashboard queries metrics /metrics does not serve: {missing}"
    assert {"alloy_hook_outcomes_total", "alloy_script_duration_seconds"} <= queried
    assert {"alloy_workers", "alloy_worker_queue_wait_seconds"} <= queried  # the pool


async def test_every_grouping_label_is_the_metrics_own() -> None:
    from alloy_scripting import telemetry
    from alloy_scripting.api import metrics
    from alloy_scripting.runner.workers import metrics as workers

    families = await served()
    declared = {
        m._name + ("_total" if m._type == "counter" else ""): set(m._labelnames)
        for m in (
            telemetry.SCRIPT_EXECUTIONS,
            telemetry.SCRIPT_DURATION,
            telemetry.HOOK_DURATION,
            telemetry.HOOK_OUTCOMES,
            telemetry.MESSAGES,
            telemetry.SCRIPT_RUNS_BY_SCRIPT,
            telemetry.SCRIPT_DURATION_BY_SCRIPT,
            metrics.HTTP_REQUESTS,
            metrics.HTTP_DURATION,
            workers.RESTARTS,
        )
    }
    for expr in expressions():
        for match in BY.finditer(expr):
            labels = {x.strip() for x in match.group(1).split(",")} - IMPLICIT
            metric = match.group(2)
            own = declared.get(metric, families.get(metric, set()))
            assert labels <= own, f"{expr}: {metric} has no label {labels - own}"


def test_the_chart_ships_it_as_an_optional_configmap() -> None:
    assert "grafana" not in json.dumps(render({}).get("ConfigMap", []))
    maps = render({"grafanaDashboard": {"enabled": True}})["ConfigMap"]
    [dashboard] = [m for m in maps if m["metadata"]["name"].endswith("-dashboard")]
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    shipped = json.loads(dashboard["data"]["alloy-scripting.json"])
    assert shipped == json.loads(DASHBOARD.read_text(encoding="utf-8"))
