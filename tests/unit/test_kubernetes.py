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
    assert spec["image"].partition(":")[0] == image_of(program)
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


def image_user() -> tuple[int, int]:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    users = re.findall(r"^USER\s+(\S+)", dockerfile, flags=re.MULTILINE)
    uid, _, gid = users[-1].partition(":")
    return int(uid), int(gid or uid)


def all_containers(pod: dict) -> list[dict]:
    return pod.get("initContainers", []) + pod["containers"]


def pod_of(name: str) -> dict:
    return of_kind("Deployment")[name]["spec"]["template"]["spec"]


def mebibytes(quantity: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
    return float(quantity[:-2]) * units[quantity[-2:]]


def millicores(quantity: str) -> float:
    return float(quantity[:-1]) if quantity.endswith("m") else float(quantity) * 1000


@pytest.mark.parametrize("name", SERVICES)
def test_each_pod_meets_the_restricted_pod_security_standard(name: str) -> None:
    # The namespace enforces "restricted"; the kubelet can verify runAsNonRoot only with a
    # numeric user, and runAsUser/runAsGroup are the image's own USER.
    assert of_kind("Namespace")["kundenportal"]["metadata"]["labels"][
        "pod-security.kubernetes.io/enforce"] == "restricted"
    pod = pod_of(name)
    assert pod["securityContext"] == {
        "runAsNonRoot": True, "runAsUser": image_user()[0], "runAsGroup": image_user()[1],
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert pod["automountServiceAccountToken"] is False
    for spec in all_containers(pod):
        assert spec["securityContext"] == {
            "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        }, spec["name"]


@pytest.mark.parametrize("name", SERVICES)
def test_the_root_filesystem_is_read_only_with_tmp_as_the_one_writable_path(name: str) -> None:
    pod = pod_of(name)
    volumes = {v["name"]: v for v in pod["volumes"]}
    for spec in all_containers(pod):
        mounts = {m["mountPath"]: m["name"] for m in spec.get("volumeMounts", [])}
        assert mounts == {"/tmp": "tmp"}, spec["name"]
    assert "sizeLimit" in volumes["tmp"]["emptyDir"]
    # The only files a service writes itself are auth's development keys, and only without
    # JWT_PRIVATE_KEY and ALTCHA_HMAC_KEY; in the cluster those come from the Secret
    # (auth takes all of it).
    assert takes_the_whole_secret(container("auth"))
    # The Secret's recipes (the ConfigMap's comment and the README's step) hold both keys
    # auth would otherwise generate, and fail to keep, itself.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    readme_recipe = readme[readme.index("create secret generic portal-secrets"):readme.index("create secret tls")]
    for recipe in ((FOLDER / "config.yaml").read_text(encoding="utf-8"), readme_recipe):
        assert "JWT_PRIVATE_KEY=" in recipe and "ALTCHA_HMAC_KEY=" in recipe


@pytest.mark.parametrize("name", SERVICES)
def test_service_links_are_off_so_no_variable_named_like_a_setting_appears(name: str) -> None:
    # With links on, every pod gets AUTH_PORT=tcp://…, FAQ_PORT=tcp://… for the Services
    # `auth`, `faq`, …: the names of port settings, with values no service accepts.
    assert pod_of(name)["enableServiceLinks"] is False


@pytest.mark.parametrize("name", SERVICES)
def test_each_container_has_requests_within_limits(name: str) -> None:
    for spec in all_containers(pod_of(name)):
        requests, limits = spec["resources"]["requests"], spec["resources"]["limits"]
        assert set(requests) == set(limits) == {"cpu", "memory"}, spec["name"]
        assert mebibytes(requests["memory"]) <= mebibytes(limits["memory"])
        assert millicores(requests["cpu"]) <= millicores(limits["cpu"])


# Peak RSS under load, measured with bench/footprint.py (README, "Kubernetes"): requests
# reserve it, limits leave half as much again on top.
PEAK_MIB = {"auth": 96, "faq": 90, "mailer": 63, "portal": 62}
MIGRATE_PEAK_MIB = 80
ARGON2_MIB_PER_THREAD = 7  # m=7 MiB (portal_auth.passwords)


@pytest.mark.parametrize("name", SERVICES)
def test_memory_requests_and_limits_cover_the_measured_rss(name: str) -> None:
    peak = PEAK_MIB[name]
    resources = container(name)["resources"]
    assert mebibytes(resources["requests"]["memory"]) >= peak
    assert mebibytes(resources["limits"]["memory"]) >= 1.5 * peak
    [migrate] = pod_of(name)["initContainers"]
    assert mebibytes(migrate["resources"]["limits"]["memory"]) >= 1.5 * MIGRATE_PEAK_MIB


def test_the_argon2_pool_is_bounded_so_auth_fits_its_memory_limit() -> None:
    # Unset, auth hashes on one thread per CPU the container sees: the node's, not its limit.
    threads = {e["name"]: e["value"] for e in container("auth")["env"] if "value" in e}["PASSWORD_HASH_THREADS"]
    peak = PEAK_MIB["auth"]  # measured with 2 threads
    extra_threads = int(threads) - 2
    limit = mebibytes(container("auth")["resources"]["limits"]["memory"])
    assert peak + extra_threads * ARGON2_MIB_PER_THREAD <= limit / 1.5
    assert millicores(container("auth")["resources"]["limits"]["cpu"]) >= 1000 * int(threads)


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
    [migrate] = pod_of("portal")["initContainers"]
    for spec in (container("portal"), migrate):
        assert not takes_the_whole_secret(spec)
        assert secret_variables(spec) == {"PORTAL_DATABASE_URL"}


@pytest.mark.parametrize("name", SERVICES)
def test_each_pod_migrates_its_schema_before_it_serves(name: str) -> None:
    # An init container, so a release is one `kubectl apply -k`: no Job (whose template
    # is immutable and blocks the next release) and nothing run by hand. `migrate` takes
    # an advisory lock, so pods starting together wait for each other.
    _, _, program = SERVICES[name]
    pod = pod_of(name)
    [migrate] = pod["initContainers"]
    serve = container(name)
    assert migrate["command"] == [program, "migrate"]
    assert migrate["image"] == serve["image"]
    # The same configuration as the service (its own database URL included), less the port.
    assert migrate["envFrom"] == serve["envFrom"]
    assert secret_variables(migrate) == secret_variables(serve)
    assert of_kind("Job") == {}
    # A new pod must have migrated and be ready before an old one goes.
    strategy = of_kind("Deployment")[name]["spec"]["strategy"]
    assert strategy["rollingUpdate"]["maxUnavailable"] == 0


def test_migrations_take_an_advisory_lock() -> None:
    source = (ROOT / "shared" / "src" / "portal_shared" / "migrations.py").read_text(encoding="utf-8")
    assert "pg_advisory_lock" in source


def test_every_image_is_pinned_by_the_kustomization() -> None:
    kustomization = yaml.safe_load((FOLDER / "kustomization.yaml").read_text())
    pinned = {image["name"] for image in kustomization["images"]}
    used = {
        c["image"].partition(":")[0]
        for workload in of_kind("Deployment").values()
        for c in all_containers(workload["spec"]["template"]["spec"])
    }
    assert used <= pinned
    assert image_of("portal-web") in used


def test_mail_delivery_scales_on_its_own() -> None:
    autoscaler = of_kind("HorizontalPodAutoscaler")["mailer"]
    assert autoscaler["spec"]["scaleTargetRef"]["name"] == "mailer"
    assert autoscaler["spec"]["minReplicas"] >= 2


@pytest.mark.parametrize("name", SERVICES)
def test_disruptions_take_one_pod_at_a_time(name: str) -> None:
    # maxUnavailable, not minAvailable: with a single replica (KEDA's minimum for the
    # mailer) minAvailable 1 would block every node drain for good.
    budget = of_kind("PodDisruptionBudget")[name]["spec"]
    assert budget == {"maxUnavailable": 1, "selector": of_kind("Deployment")[name]["spec"]["selector"]}


# --- NetworkPolicies ---------------------------------------------------------------------

INGRESS_NAMESPACE = {"kubernetes.io/metadata.name": "ingress-nginx"}
MONITORING_NAMESPACE = {"kubernetes.io/metadata.name": "monitoring"}


def policies_for(name: str) -> list[dict]:
    labels = of_kind("Deployment")[name]["spec"]["template"]["metadata"]["labels"]
    return [
        p["spec"] for p in of_kind("NetworkPolicy").values()
        if p["spec"]["podSelector"].get("matchLabels", {}).items() <= labels.items()
    ]


def allowed_sources(name: str) -> dict[str, set[int]]:
    """'ns:<name>' or 'pod:<app>' -> the ports it may connect to."""
    sources: dict[str, set[int]] = {}
    for policy in policies_for(name):
        for rule in policy.get("ingress", []):
            ports = {p["port"] for p in rule["ports"]}
            for peer in rule["from"]:
                if "namespaceSelector" in peer:
                    key = "ns:" + peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                else:
                    key = "pod:" + peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
                sources.setdefault(key, set()).update(ports)
    return sources


def test_everything_not_allowed_is_denied() -> None:
    deny = of_kind("NetworkPolicy")["default-deny-ingress"]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress"]}


@pytest.mark.parametrize(
    ("name", "callers"),
    [
        ("portal", {"ns:ingress-nginx", "ns:monitoring"}),
        ("auth", {"ns:ingress-nginx", "ns:monitoring", "pod:portal", "pod:faq"}),
        ("faq", {"ns:ingress-nginx", "ns:monitoring", "pod:portal"}),
        ("mailer", {"ns:monitoring"}),
    ],
)
def test_each_service_is_reachable_only_by_its_callers_on_its_port(name: str, callers: set[str]) -> None:
    settings, port_field, _ = SERVICES[name]
    port = settings.model_fields[port_field].default
    sources = allowed_sources(name)
    assert set(sources) == callers
    assert all(ports == {port} for ports in sources.values())


def test_the_ingress_controller_reaches_exactly_the_services_the_ingress_routes_to() -> None:
    [rule] = of_kind("Ingress")["kundenportal"]["spec"]["rules"]
    routed = {p["backend"]["service"]["name"] for p in rule["http"]["paths"]} & set(SERVICES)
    reachable = {name for name in SERVICES if "ns:ingress-nginx" in allowed_sources(name)}
    assert reachable == routed == {"portal", "auth", "faq"}


def test_every_pod_is_covered_by_a_policy_of_its_own() -> None:
    for name in SERVICES:
        assert any(p["podSelector"] for p in policies_for(name)), name


def test_the_mailer_reaches_only_dns_database_broker_and_smtp() -> None:
    [policy] = [p for p in policies_for("mailer") if "Egress" in p["policyTypes"]]
    allowed = {(p.get("protocol", "TCP"), p["port"]) for rule in policy["egress"] for p in rule["ports"]}
    database = urlsplit(MailerSettings.model_fields["mailer_database_url"].default).port
    broker = urlsplit(MailerSettings.model_fields["amqp_url"].default).port
    assert allowed == {
        ("UDP", 53), ("TCP", 53),
        ("TCP", database), ("TCP", broker), ("TCP", 5671),  # AMQP over TLS
        ("TCP", int(config()["SMTP_PORT"])),
    }
    # Only the mailer's egress is restricted; the others' databases and brokers are
    # wherever the platform runs them.
    for name in ("auth", "faq", "portal"):
        assert all("Egress" not in p["policyTypes"] for p in policies_for(name)), name


# --- KEDA (deploy/kubernetes-keda) -------------------------------------------------------

KEDA_FOLDER = ROOT / "deploy" / "kubernetes-keda"


def keda_documents() -> dict[tuple[str, str], dict]:
    kustomization = yaml.safe_load((KEDA_FOLDER / "kustomization.yaml").read_text())
    docs = {}
    for resource in kustomization["resources"]:
        if (KEDA_FOLDER / resource).is_file():
            for d in yaml.safe_load_all((KEDA_FOLDER / resource).read_text()):
                docs[(d["kind"], d["metadata"]["name"])] = d
    return docs


def test_keda_scales_the_mailer_on_its_queue_with_unacknowledged_messages() -> None:
    overlay = yaml.safe_load((KEDA_FOLDER / "kustomization.yaml").read_text())
    assert "../kubernetes" in overlay["resources"]
    scaled = keda_documents()[("ScaledObject", "mailer")]["spec"]
    assert scaled["scaleTargetRef"]["name"] == "mailer" and "mailer" in of_kind("Deployment")
    assert scaled["minReplicaCount"] == 1
    [trigger] = scaled["triggers"]
    metadata = trigger["metadata"]
    assert trigger["type"] == "rabbitmq"
    # The management API counts ready + unacknowledged; AMQP would see only ready ones.
    assert metadata["protocol"] == "http"
    assert metadata["mode"] == "QueueLength"
    assert metadata["excludeUnacknowledged"] == "false"
    assert metadata["queueName"] == MailerSettings.model_fields["mailer_queue"].default
    assert "host" not in metadata  # credentials only through the TriggerAuthentication
    # A replica holds MAILER_CONCURRENCY messages unacknowledged; the target must be above
    # that, or idle replicas alone would keep the count at the target.
    assert int(metadata["value"]) > int(config()["MAILER_CONCURRENCY"])


def test_keda_takes_the_management_credentials_from_a_secret_the_pods_do_not_see() -> None:
    scaled = keda_documents()[("ScaledObject", "mailer")]["spec"]
    [trigger] = scaled["triggers"]
    auth = keda_documents()[("TriggerAuthentication", trigger["authenticationRef"]["name"])]["spec"]
    [host] = auth["secretTargetRef"]
    assert host["parameter"] == "host"
    assert host["name"] != "portal-secrets"
    assert host["name"] in (KEDA_FOLDER / "mailer-scaling.yaml").read_text()  # the recipe is there


def test_keda_replaces_the_cpu_autoscaler() -> None:
    overlay = yaml.safe_load((KEDA_FOLDER / "kustomization.yaml").read_text())
    [patch] = overlay["patches"]
    deleted = yaml.safe_load(patch["patch"])
    assert deleted["$patch"] == "delete"
    assert (deleted["kind"], deleted["metadata"]["name"]) == ("HorizontalPodAutoscaler", "mailer")


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


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomize_builds_the_keda_overlay_without_the_cpu_autoscaler() -> None:
    result = subprocess.run(
        ["kubectl", "kustomize", str(KEDA_FOLDER)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    built = {(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(result.stdout) if d}
    assert {("ScaledObject", "mailer"), ("TriggerAuthentication", "mailer-rabbitmq"), ("Deployment", "mailer")} <= built
    assert ("HorizontalPodAutoscaler", "mailer") not in built


def test_every_resource_names_the_namespace_the_kustomization_sets() -> None:
    # kustomize sets it anyway; in the files it keeps scanners of the raw files (checkov)
    # from taking them for the default namespace.
    namespace = yaml.safe_load((FOLDER / "kustomization.yaml").read_text())["namespace"]
    for d in documents() + list(keda_documents().values()):
        if d["kind"] != "Namespace":
            assert d["metadata"]["namespace"] == namespace, (d["kind"], d["metadata"]["name"])
