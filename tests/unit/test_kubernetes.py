"""The Kubernetes manifests cannot be applied here; they are checked against the code."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from portal_auth.config import AuthSettings
from portal_faq.config import FaqSettings
from portal_mailer.config import MailerSettings

FOLDER = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
SETTINGS = {"auth": AuthSettings, "mailer": MailerSettings, "faq": FaqSettings}
PORTS = {"auth": "auth_port", "mailer": "mailer_port", "faq": "faq_port"}


def documents() -> list[dict]:
    kustomization = yaml.safe_load((FOLDER / "kustomization.yaml").read_text())
    docs = []
    for resource in kustomization["resources"]:
        docs += [d for d in yaml.safe_load_all((FOLDER / resource).read_text()) if d]
    return docs


def of_kind(kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in documents() if d["kind"] == kind}


def all_settings() -> set[str]:
    return {name.upper() for cls in SETTINGS.values() for name in cls.model_fields}


def test_every_configured_variable_is_read_by_some_service() -> None:
    config = of_kind("ConfigMap")["portal-config"]["data"]
    assert set(config) - all_settings() == set()


@pytest.mark.parametrize("name", SETTINGS)
def test_each_service_runs_with_probes_on_its_port(name: str) -> None:
    deployment = of_kind("Deployment")[name]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["command"] == [f"portal-{name}", "serve"]
    port = SETTINGS[name].model_fields[PORTS[name]].default
    assert container["ports"][0]["containerPort"] == port
    assert {"name": f"{name.upper()}_PORT", "value": str(port)} in container["env"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert of_kind("Service")[name]["spec"]["ports"][0]["port"] == port


def test_migrations_run_for_every_service_before_release() -> None:
    job = of_kind("Job")["portal-migrate"]
    commands = [c["command"] for c in job["spec"]["template"]["spec"]["containers"]]
    assert sorted(commands) == sorted([f"portal-{name}", "migrate"] for name in SETTINGS)


def test_mail_delivery_scales_on_its_own() -> None:
    autoscaler = of_kind("HorizontalPodAutoscaler")["mailer"]
    assert autoscaler["spec"]["scaleTargetRef"]["name"] == "mailer"
    assert autoscaler["spec"]["minReplicas"] >= 2
