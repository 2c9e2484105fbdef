"""The chart through a real Helm engine (helm-python-sdk: Helm's Go library, no binary)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

CHART = str(Path(__file__).resolve().parents[3] / "helm" / "alloy-scripting")


def render(values: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Rendered manifests by kind."""
    with helm.Chart.load(CHART) as chart:
        files = chart.render(values, name="alloy", namespace="hooks")
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for name, text in files.items():
        if name.endswith("NOTES.txt"):
            continue
        for document in yaml.safe_load_all(text):
            if document:
                by_kind.setdefault(document["kind"], []).append(document)
    return by_kind


def test_strict_lint_finds_no_errors() -> None:
    result = helm.lint(CHART, strict=True)
    assert result["errors"] == []
    assert all(m["severity"] < 2 for m in result["messages"]), result["messages"]


def test_default_render_is_a_sane_deployment() -> None:
    manifests = render({})
    [deployment] = manifests["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["image"].startswith("alloy-scripting:")
    assert {"containerPort": 8080, "name": "http", "protocol": "TCP"} in container["ports"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["terminationGracePeriodSeconds"] >= 40
    env = {e["name"]: e for e in container.get("env", [])}
    assert "ALLOY_MONGODB_URL" in env and "secretKeyRef" in env["ALLOY_MONGODB_URL"]["valueFrom"]
    assert manifests["Service"][0]["spec"]["ports"][0]["port"] == 8080
    assert "PodDisruptionBudget" in manifests  # two replicas by default


def test_optional_resources_render_when_enabled() -> None:
    manifests = render(
        {
            "autoscaling": {"enabled": True},
            "ingress": {
                "enabled": True,
                "hosts": [
                    {"host": "alloy.example.com", "paths": [{"path": "/", "pathType": "Prefix"}]}
                ],
            },
            "serviceMonitor": {"enabled": True},
        }
    )
    assert {"HorizontalPodAutoscaler", "Ingress", "ServiceMonitor"} <= set(manifests)


def test_schema_refuses_wrong_types() -> None:
    with pytest.raises(Exception, match="replicaCount"):
        render({"replicaCount": "two"})


def test_mcp_answers_the_services_own_names_by_default() -> None:
    [config] = render({})["ConfigMap"][:1]
    hosts = config["data"]["ALLOY_MCP_ALLOWED_HOSTS"].split(",")
    assert "alloy-alloy-scripting.hooks.svc:*" in hosts
    assert "alloy-alloy-scripting:*" in hosts
    assert "ALLOY_MCP_ALLOWED_ORIGINS" not in config["data"]
    [custom] = render(
        {"mcp": {"allowedHosts": "mcp.example.com", "allowedOrigins": "https://a.example"}}
    )["ConfigMap"][:1]
    assert custom["data"]["ALLOY_MCP_ALLOWED_HOSTS"] == "mcp.example.com"
    assert custom["data"]["ALLOY_MCP_ALLOWED_ORIGINS"] == "https://a.example"
