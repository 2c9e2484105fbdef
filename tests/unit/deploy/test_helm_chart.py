"""Static checks of the Helm chart in `helm/alloy-scripting/` (no `helm` binary needed).

What Python can check without rendering Go templates: Chart.yaml and values.yaml parse,
values.yaml validates against values.schema.json (and the schema rejects wrong types), every
`.Values.*` path a template uses exists in values.yaml, each template's YAML skeleton (the
template with its `{{ ... }}` actions stripped) parses into a sane manifest, the probes and the
security context are what the service needs, and every `ALLOY_*` variable the chart sets is a
field of `alloy_scripting.settings.Settings`.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from alloy_scripting.settings import Settings

REPO = Path(__file__).resolve().parents[3]
CHART = REPO / "helm" / "alloy-scripting"
TEMPLATES = CHART / "templates"

EXPECTED_TEMPLATES = {
    "_helpers.tpl",
    "NOTES.txt",
    "configmap.yaml",
    "deployment.yaml",
    "hpa.yaml",
    "ingress.yaml",
    "pdb.yaml",
    "secret.yaml",
    "service.yaml",
    "serviceaccount.yaml",
    "servicemonitor.yaml",
}

ACTION = re.compile(r"{{-?.*?-?}}", re.DOTALL)
VALUES_REF = re.compile(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
ALLOY_ENV = re.compile(r"\bALLOY_[A-Z0-9_]+\b")
# `ALLOY_X: {{ .Values.a.b ... }}` lines of the ConfigMap.
CONFIGMAP_ENTRY = re.compile(r"^\s*(ALLOY_[A-Z0-9_]+):\s*{{\s*\.Values\.([A-Za-z0-9_.]+)", re.M)


def _load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _manifest_templates() -> list[Path]:
    return sorted(TEMPLATES.glob("*.yaml"))


def _all_templates() -> list[Path]:
    return sorted(p for p in TEMPLATES.iterdir() if p.is_file())


def _lookup(tree: Any, path: list[str]) -> tuple[bool, Any]:
    node = tree
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return False, None
        node = node[key]
    return True, node


def _skeleton(text: str) -> str:
    """The template's YAML with template actions stripped.

    Lines holding only actions (control flow, `toYaml | nindent`) are dropped; a sequence
    dash followed only by an action keeps the bare dash; other actions become a placeholder
    scalar. Both branches of an `if/else` survive, which YAML tolerates as repeated keys.
    """
    out = []
    for line in ACTION.sub("\0", text).splitlines():
        bare = line.replace("\0", "")
        if not bare.strip():
            continue
        if bare.strip() == "-":
            out.append(bare.rstrip())
            continue
        out.append(line.replace("\0", "TPL"))
    return "\n".join(out) + "\n"


def _skeleton_docs(path: Path) -> list[dict[str, Any]]:
    docs = list(yaml.safe_load_all(_skeleton(path.read_text(encoding="utf-8"))))
    return [d for d in docs if d is not None]


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    data = _load_yaml(CHART / "values.yaml")
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    data = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def deployment() -> dict[str, Any]:
    docs = _skeleton_docs(TEMPLATES / "deployment.yaml")
    assert len(docs) == 1
    return docs[0]


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    container = containers[0]
    assert isinstance(container, dict)
    return container


# --- chart metadata and layout ---------------------------------------------------------------


def test_chart_yaml() -> None:
    chart = _load_yaml(CHART / "Chart.yaml")
    assert chart["apiVersion"] == "v2"
    assert chart["name"] == "alloy-scripting"
    assert chart["version"] == "0.1.0"
    assert str(chart["appVersion"]) == "0.1.0"
    assert chart.get("type", "application") == "application"


def test_chart_files_present() -> None:
    assert (CHART / ".helmignore").is_file()
    assert (CHART / "values.schema.json").is_file()
    assert {p.name for p in _all_templates()} >= EXPECTED_TEMPLATES


# --- values and schema -----------------------------------------------------------------------


def test_schema_is_valid_draft7(schema: dict[str, Any]) -> None:
    jsonschema.Draft7Validator.check_schema(schema)


def test_values_validate_against_schema(values: dict[str, Any], schema: dict[str, Any]) -> None:
    jsonschema.Draft7Validator(schema).validate(values)


def test_schema_describes_every_top_level_value(
    values: dict[str, Any], schema: dict[str, Any]
) -> None:
    described = set(schema["properties"]) - {"global"}
    assert described == set(values), "values.yaml and values.schema.json disagree"


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        (["replicaCount"], "two"),
        (["auth", "disabled"], "false"),
        (["image", "pullPolicy"], "Sometimes"),
        (["service", "port"], "http"),
        (["config", "hookBatchSize"], 0),
        (["terminationGracePeriodSeconds"], 10),
        (["kafka", "bootstrapServers"], "typo:9092"),
        (["replicas"], 3),
    ],
)
def test_schema_rejects_wrong_values(
    values: dict[str, Any], schema: dict[str, Any], path: list[str], bad: Any
) -> None:
    broken = copy.deepcopy(values)
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = bad
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate(broken)


def test_secrets_have_existing_secret_options(values: dict[str, Any]) -> None:
    for section in ("mongodb", "auth"):
        assert values[section]["existingSecret"] == ""
        assert values[section]["existingSecretKey"]
    assert values["auth"]["disabled"] is False


def test_defaults(values: dict[str, Any]) -> None:
    assert values["replicaCount"] == 2
    assert values["service"] == {"type": "ClusterIP", "port": 8080, "annotations": {}}
    assert values["containerPort"] == Settings.model_fields["http_port"].default
    assert values["ingress"]["enabled"] is False
    assert values["autoscaling"]["enabled"] is False
    assert values["serviceMonitor"]["enabled"] is False
    assert values["podDisruptionBudget"] == {"enabled": True, "minAvailable": 1}
    assert values["podAnnotations"]["prometheus.io/scrape"] == "true"
    assert values["podAnnotations"]["prometheus.io/path"] == "/metrics"
    assert values["podAnnotations"]["prometheus.io/port"] == str(values["containerPort"])
    resources = values["resources"]
    assert set(resources) == {"requests", "limits"}
    assert {"cpu", "memory"} <= set(resources["requests"]) & set(resources["limits"])


# --- templates against values ----------------------------------------------------------------


@pytest.mark.parametrize("template", _all_templates(), ids=lambda p: p.name)
def test_template_values_references_exist(template: Path, values: dict[str, Any]) -> None:
    text = template.read_text(encoding="utf-8")
    missing = sorted(
        ref
        for ref in {m.group(1) for m in VALUES_REF.finditer(text)}
        if not _lookup(values, ref.lstrip(".").split("."))[0]
    )
    assert not missing, f"{template.name} uses .Values{missing} absent from values.yaml"


def test_every_value_is_used(values: dict[str, Any]) -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in _all_templates())
    refs = {m.group(1).lstrip(".") for m in VALUES_REF.finditer(text)}
    # Whole-object references (`.Values.resources`) count for every key below them.
    prefixes = {".".join(r.split(".")[:i]) for r in refs for i in range(1, r.count(".") + 2)}
    unused = sorted(k for k in values if k not in prefixes)
    assert not unused, f"values.yaml keys no template uses: {unused}"
    for section in ("kafka", "mongodb", "auth", "config", "otel", "autoscaling", "serviceMonitor"):
        unused = sorted(k for k in values[section] if f"{section}.{k}" not in prefixes)
        assert not unused, f"values.yaml {section}.* keys no template uses: {unused}"


@pytest.mark.parametrize("template", _manifest_templates(), ids=lambda p: p.name)
def test_template_skeleton_is_a_sane_manifest(template: Path) -> None:
    docs = _skeleton_docs(template)
    assert len(docs) == 1, f"{template.name}: expected one manifest"
    doc = docs[0]
    assert isinstance(doc.get("apiVersion"), str)
    assert isinstance(doc.get("kind"), str)
    assert "name" in doc["metadata"]
    assert "labels" in doc["metadata"]
    text = template.read_text(encoding="utf-8")
    assert 'include "alloy-scripting.fullname"' in text or "serviceAccountName" in text
    assert 'include "alloy-scripting.labels"' in text


def test_optional_templates_are_guarded() -> None:
    guards = {
        "hpa.yaml": ".Values.autoscaling.enabled",
        "ingress.yaml": ".Values.ingress.enabled",
        "servicemonitor.yaml": ".Values.serviceMonitor.enabled",
        "serviceaccount.yaml": ".Values.serviceAccount.create",
        "pdb.yaml": ".Values.podDisruptionBudget.enabled",
        "dashboard.yaml": ".Values.grafanaDashboard.enabled",
        "secret.yaml": 'include "alloy-scripting.createSecret"',
    }
    for name, guard in guards.items():
        first = (TEMPLATES / name).read_text(encoding="utf-8").lstrip().splitlines()[0]
        assert first.startswith("{{- if") and guard in first, f"{name} is not guarded by {guard}"
    pdb = (TEMPLATES / "pdb.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert "gt" in pdb and "alloy-scripting.minReplicas" in pdb
    helpers = (TEMPLATES / "_helpers.tpl").read_text(encoding="utf-8")
    assert ".Values.mongodb.existingSecret" in helpers and ".Values.auth.existingSecret" in helpers


def test_kinds() -> None:
    kinds = {p.name: _skeleton_docs(p)[0]["kind"] for p in _manifest_templates()}
    assert kinds == {
        "configmap.yaml": "ConfigMap",
        "dashboard.yaml": "ConfigMap",
        "deployment.yaml": "Deployment",
        "hpa.yaml": "HorizontalPodAutoscaler",
        "ingress.yaml": "Ingress",
        "pdb.yaml": "PodDisruptionBudget",
        "secret.yaml": "Secret",
        "service.yaml": "Service",
        "serviceaccount.yaml": "ServiceAccount",
        "servicemonitor.yaml": "ServiceMonitor",
    }


# --- deployment ------------------------------------------------------------------------------


def test_deployment_probes(deployment: dict[str, Any], values: dict[str, Any]) -> None:
    container = _container(deployment)
    assert [p["name"] for p in container["ports"]] == ["http"]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert probe in container, f"deployment lacks {probe}"
    text = (TEMPLATES / "deployment.yaml").read_text(encoding="utf-8")
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert f".Values.{probe}" in text
    assert values["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
    assert values["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}
    assert values["startupProbe"]["httpGet"]["port"] == "http"
    assert values["startupProbe"]["httpGet"]["path"].startswith("/health/")


def test_deployment_runs_as_non_root(deployment: dict[str, Any], values: dict[str, Any]) -> None:
    pod = deployment["spec"]["template"]["spec"]
    container = _container(deployment)
    assert "securityContext" in pod and "securityContext" in container
    text = (TEMPLATES / "deployment.yaml").read_text(encoding="utf-8")
    assert ".Values.podSecurityContext" in text and ".Values.securityContext" in text

    uid_match = re.search(r"--uid\s+(\d+)", (REPO / "Dockerfile").read_text())
    assert uid_match, "Dockerfile creates no user with --uid"
    uid = int(uid_match.group(1))
    pod_ctx, ctr_ctx = values["podSecurityContext"], values["securityContext"]
    assert pod_ctx["runAsNonRoot"] is True and ctr_ctx["runAsNonRoot"] is True
    assert pod_ctx["runAsUser"] == ctr_ctx["runAsUser"] == uid != 0
    assert ctr_ctx["readOnlyRootFilesystem"] is True
    assert ctr_ctx["allowPrivilegeEscalation"] is False
    assert ctr_ctx["capabilities"]["drop"] == ["ALL"]

    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts.get("tmp") == "/tmp"
    assert "emptyDir" in next(v for v in pod["volumes"] if v["name"] == "tmp")


def test_deployment_shutdown_and_rollout(
    deployment: dict[str, Any], values: dict[str, Any]
) -> None:
    assert values["terminationGracePeriodSeconds"] >= 40
    pod = deployment["spec"]["template"]["spec"]
    assert "terminationGracePeriodSeconds" in pod
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert {"checksum/config", "checksum/secret"} <= set(annotations)
    text = (TEMPLATES / "deployment.yaml").read_text(encoding="utf-8")
    assert '"/configmap.yaml") . | sha256sum' in text
    assert '"/secret.yaml") . | sha256sum' in text
    # With an HPA the Deployment must not pin `replicas`.
    assert re.search(r"if not \.Values\.autoscaling\.enabled }}\s*replicas:", text)


def test_deployment_env_sources(deployment: dict[str, Any]) -> None:
    container = _container(deployment)
    assert container["args"] == ["serve"]
    secret_env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]}
    assert set(secret_env) == {"ALLOY_MONGODB_URL", "ALLOY_API_KEYS"}
    assert [list(s) for s in container["envFrom"]] == [["configMapRef"]]
    text = (TEMPLATES / "deployment.yaml").read_text(encoding="utf-8")
    assert ".Values.env }}" in text and ".Values.envFrom }}" in text


def test_secret_values_stay_out_of_configmap_and_deployment() -> None:
    for name in ("configmap.yaml", "deployment.yaml"):
        text = (TEMPLATES / name).read_text(encoding="utf-8")
        assert ".Values.mongodb.url" not in text
        assert ".Values.auth.apiKeys" not in text
    configmap = (TEMPLATES / "configmap.yaml").read_text(encoding="utf-8")
    assert "ALLOY_MONGODB_URL" not in configmap and "ALLOY_API_KEYS" not in configmap
    secret = (TEMPLATES / "secret.yaml").read_text(encoding="utf-8")
    assert ".Values.mongodb.url | b64enc" in secret
    assert ".Values.auth.apiKeys | b64enc" in secret


# --- environment variables against the service's settings ------------------------------------


def test_alloy_env_vars_are_settings_fields() -> None:
    fields = set(Settings.model_fields)
    named = {
        m.group(0)
        for p in _all_templates()
        for m in ALLOY_ENV.finditer(p.read_text(encoding="utf-8"))
    }
    assert named, "templates name no ALLOY_* variable"
    unknown = sorted(n for n in named if n.removeprefix("ALLOY_").lower() not in fields)
    assert not unknown, f"not fields of alloy_scripting.settings.Settings: {unknown}"


def test_config_values_match_env_names_and_service_defaults(values: dict[str, Any]) -> None:
    """`config.fooBar` feeds ALLOY_FOO_BAR and defaults to the service's own default."""
    text = (TEMPLATES / "configmap.yaml").read_text(encoding="utf-8")
    entries = dict(CONFIGMAP_ENTRY.findall(text))
    config_entries = {env: path for env, path in entries.items() if path.startswith("config.")}
    assert {p.removeprefix("config.") for p in config_entries.values()} == set(values["config"])
    for env, path in config_entries.items():
        leaf = path.removeprefix("config.")
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", leaf).lower()
        assert env == f"ALLOY_{snake.upper()}", f"{path} feeds {env}"
        default = Settings.model_fields[snake].default
        assert values["config"][leaf] == default, f"config.{leaf} != Settings.{snake} default"
    assert entries["ALLOY_HTTP_PORT"] == "containerPort"
    assert entries["ALLOY_AUTH_DISABLED"] == "auth.disabled"
    assert entries["ALLOY_KAFKA_BOOTSTRAP"] == "kafka.bootstrap"


def test_otel_variables_settable(values: dict[str, Any]) -> None:
    text = (TEMPLATES / "configmap.yaml").read_text(encoding="utf-8")
    for env, key in (
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "endpoint"),
        ("OTEL_SERVICE_NAME", "serviceName"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "protocol"),
        ("OTEL_RESOURCE_ATTRIBUTES", "resourceAttributes"),
    ):
        assert f"{env}:" in text
        assert key in values["otel"]
