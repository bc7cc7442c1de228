"""The Kubernetes manifests cannot be applied here; they are checked against the code."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic_settings import BaseSettings

from portal_auth.config import AuthSettings
from portal_faq.config import FaqSettings
from portal_mailer.config import MailerSettings
from portal_web.config import PortalSettings

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "deploy" / "kubernetes"
# Deployment (and Service) name -> (settings class, port setting, program). The image
# built with `--build-arg SERVICE=x` runs `portal-x` and is called `kundenportal/x`.
SERVICES: dict[str, tuple[type[BaseSettings], str, str]] = {
    "auth": (AuthSettings, "auth_port", "portal-auth"),
    "mailer": (MailerSettings, "mailer_port", "portal-mailer"),
    "faq": (FaqSettings, "faq_port", "portal-faq"),
    "portal": (PortalSettings, "portal_port", "portal-web"),
}
PLATFORM_PATHS = ("/metrics", "/healthz", "/readyz")


def documents() -> list[dict]:
    kustomization = yaml.safe_load((FOLDER / "kustomization.yaml").read_text())
    docs = []
    for resource in kustomization["resources"]:
        docs += [d for d in yaml.safe_load_all((FOLDER / resource).read_text()) if d]
    return docs


def of_kind(kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in documents() if d["kind"] == kind}


def all_settings() -> set[str]:
    return {name.upper() for cls, _, _ in SERVICES.values() for name in cls.model_fields}


def container(name: str) -> dict:
    [only] = of_kind("Deployment")[name]["spec"]["template"]["spec"]["containers"]
    return only


def image_of(program: str) -> str:
    return "kundenportal/" + program.removeprefix("portal-")


def config() -> dict[str, str]:
    return of_kind("ConfigMap")["portal-config"]["data"]


def secret_variables(spec: dict) -> set[str]:
    """The variables a container takes from the Secret one by one."""
    return {
        e["name"] for e in spec.get("env", [])
        if e.get("valueFrom", {}).get("secretKeyRef", {}).get("name") == "portal-secrets"
    }


def takes_the_whole_secret(spec: dict) -> bool:
    return {"secretRef": {"name": "portal-secrets"}} in spec.get("envFrom", [])


def settings_in_cluster(name: str, monkeypatch: pytest.MonkeyPatch) -> BaseSettings:
    """The service's settings as its pod loads them, but for the Secret's values."""
    settings, _, _ = SERVICES[name]
    spec = container(name)
    for variable in {name.upper() for name in settings.model_fields}:
        monkeypatch.delenv(variable, raising=False)
    assert {"configMapRef": {"name": "portal-config"}} in spec["envFrom"]
    for key, value in config().items():
        monkeypatch.setenv(key, value)
    for entry in spec["env"]:
        if "value" in entry:
            monkeypatch.setenv(entry["name"], entry["value"])
    return settings()


def path_matches(rule: dict, path: str) -> bool:
    if rule["pathType"] == "Exact":
        return path == rule["path"]
    prefix = [part for part in rule["path"].split("/") if part]
    return [part for part in path.split("/") if part][: len(prefix)] == prefix


def routed_to(path: str) -> tuple[str, int]:
    """The Service and port the Ingress sends `path` to: the longest matching path wins,
    Exact before Prefix (networking.k8s.io/v1 semantics)."""
    [rule] = of_kind("Ingress")["kundenportal"]["spec"]["rules"]
    matching = [p for p in rule["http"]["paths"] if path_matches(p, path)]
    best = max(matching, key=lambda p: (len(p["path"].rstrip("/")), p["pathType"] == "Exact"))
    service = best["backend"]["service"]
    return service["name"], service["port"]["number"]


def test_every_configured_variable_is_read_by_some_service() -> None:
    assert set(config()) - all_settings() == set()


def test_no_secret_sits_in_the_config_map() -> None:
    secret = re.compile(r"DATABASE_URL|AMQP_URL|PASSWORD|PRIVATE_KEY|HMAC_KEY|USERNAME")
    assert [key for key in config() if secret.search(key)] == []


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_runs_with_probes_on_its_port(name: str) -> None:
    settings, port_field, program = SERVICES[name]
    spec = container(name)
    assert spec["command"] == [program, "serve"]
    assert spec["image"] == image_of(program)
    port = settings.model_fields[port_field].default
    assert spec["ports"][0]["containerPort"] == port
    assert {"name": port_field.upper(), "value": str(port)} in spec["env"]
    assert spec["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert spec["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert of_kind("Service")[name]["spec"]["ports"][0]["port"] == port


@pytest.mark.parametrize("name", SERVICES)
def test_the_cluster_configuration_is_accepted_by_each_service(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_in_cluster(name, monkeypatch)
    _, port_field, _ = SERVICES[name]
    assert getattr(settings, port_field) == SERVICES[name][0].model_fields[port_field].default
    assert settings.bind_host == "0.0.0.0"


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_runs_unprivileged_within_limits(name: str) -> None:
    pod = of_kind("Deployment")[name]["spec"]["template"]["spec"]
    spec = container(name)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True}
    assert {"cpu", "memory"} <= set(spec["resources"]["requests"])
    assert "memory" in spec["resources"]["limits"]


def test_the_image_user_is_numeric_so_run_as_non_root_can_be_verified() -> None:
    # The kubelet refuses runAsNonRoot pods whose image names its user ("portal").
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    users = re.findall(r"^USER\s+(\S+)", dockerfile, flags=re.MULTILINE)
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_reads_its_database_url_from_the_secret(name: str) -> None:
    spec = container(name)
    assert f"{name.upper()}_DATABASE_URL" in secret_variables(spec) or takes_the_whole_secret(spec)


def test_the_portal_gets_only_its_database_url_from_the_secret() -> None:
    job = of_kind("Job")["portal-migrate"]["spec"]["template"]["spec"]["containers"]
    [migrate] = [c for c in job if c["command"][0] == "portal-web"]
    for spec in (container("portal"), migrate):
        assert not takes_the_whole_secret(spec)
        assert secret_variables(spec) == {"PORTAL_DATABASE_URL"}


def test_migrations_run_for_every_service_before_release() -> None:
    job = of_kind("Job")["portal-migrate"]
    containers = job["spec"]["template"]["spec"]["containers"]
    assert sorted(c["command"] for c in containers) == sorted([program, "migrate"] for _, _, program in SERVICES.values())
    for spec in containers:
        assert spec["image"] == image_of(spec["command"][0])


def test_every_image_is_pinned_by_the_kustomization() -> None:
    kustomization = yaml.safe_load((FOLDER / "kustomization.yaml").read_text())
    pinned = {image["name"] for image in kustomization["images"]}
    used = {
        c["image"]
        for kind in ("Deployment", "Job")
        for workload in of_kind(kind).values()
        for c in workload["spec"]["template"]["spec"]["containers"]
    }
    assert used <= pinned
    assert image_of("portal-web") in used


def test_mail_delivery_scales_on_its_own() -> None:
    autoscaler = of_kind("HorizontalPodAutoscaler")["mailer"]
    assert autoscaler["spec"]["scaleTargetRef"]["name"] == "mailer"
    assert autoscaler["spec"]["minReplicas"] >= 2


@pytest.mark.parametrize("name", ["auth", "faq"])
def test_the_portal_calls_auth_and_faq_through_their_services(name: str) -> None:
    url = urlsplit(config()[f"{name.upper()}_API_URL"])
    settings, port_field, _ = SERVICES[name]
    assert url.scheme == "http"
    assert url.hostname == of_kind("Service")[name]["metadata"]["name"]
    assert url.port == settings.model_fields[port_field].default
    assert url.port in {p["port"] for p in of_kind("Service")[name]["spec"]["ports"]}


@pytest.mark.parametrize("name", ["auth", "faq", "portal"])
def test_services_behind_a_proxy_believe_only_private_forwarders(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # auth and faq: the Ingress controller and the portal; portal: the Ingress controller.
    # A private range only, so no customer on the internet can be taken for a proxy.
    trusted = settings_in_cluster(name, monkeypatch).trusted_proxies
    assert trusted
    assert all(network.is_private for network in trusted)
    assert "TRUSTED_PROXIES" not in {e["name"] for e in container(name)["env"]}


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/", "portal"),
        ("/registrieren", "portal"),
        ("/login", "portal"),
        ("/api/v1/authentication", "portal"),
        ("/api/v1/auth/login", "auth"),
        ("/api/v1/auth/openapi.json", "auth"),
        ("/.well-known/jwks.json", "auth"),
        ("/api/v1/faq", "faq"),
        ("/api/v1/faq/search", "faq"),
        ("/api/v1/contact", "faq"),
    ],
)
def test_the_ingress_routes_pages_to_the_portal_and_apis_to_their_service(path: str, service: str) -> None:
    name, port = routed_to(path)
    assert name == service
    settings, port_field, _ = SERVICES[service]
    assert port == settings.model_fields[port_field].default


@pytest.mark.parametrize("path", [p + suffix for p in PLATFORM_PATHS for suffix in ("", "/", "/x")])
def test_probes_and_metrics_are_never_routed_to_a_service(path: str) -> None:
    name, _ = routed_to(path)
    service = of_kind("Service")[name]
    assert name not in SERVICES
    assert "selector" not in service["spec"]  # no pods behind it


def test_the_ingress_uses_prefix_paths_to_existing_services_and_never_the_mailer() -> None:
    [rule] = of_kind("Ingress")["kundenportal"]["spec"]["rules"]
    services = of_kind("Service")
    backends = set()
    for path in rule["http"]["paths"]:
        assert path["pathType"] == "Prefix"
        backend = path["backend"]["service"]
        assert backend["port"]["number"] in {p["port"] for p in services[backend["name"]]["spec"]["ports"]}
        backends.add(backend["name"])
    assert {"portal", "auth", "faq"} <= backends
    assert "mailer" not in backends


def test_the_ingress_serves_the_portal_base_url_with_tls() -> None:
    ingress = of_kind("Ingress")["kundenportal"]["spec"]
    base = urlsplit(config()["PORTAL_BASE_URL"])
    assert base.scheme == "https"
    [rule] = ingress["rules"]
    assert rule["host"] == base.hostname
    assert any(base.hostname in tls["hosts"] and tls["secretName"] for tls in ingress["tls"])


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomize_builds_the_manifests() -> None:
    result = subprocess.run(
        ["kubectl", "kustomize", str(FOLDER)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    built = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert {(d["kind"], d["metadata"]["name"]) for d in built} >= {("Deployment", "portal"), ("Ingress", "kundenportal")}
    assert all(d["metadata"].get("namespace") == "kundenportal" for d in built if d["kind"] != "Namespace")
