"""docker-compose.yml cannot run here (no Docker engine), so it is checked against the
code: every variable it sets is a setting the service reads (and a value it accepts),
ports agree, each service waits for what it needs to be healthy, only the portal is
reachable from other machines, and auth and FAQ believe X-Forwarded-For from the portal
alone."""

from __future__ import annotations

import subprocess
import tomllib
from ipaddress import IPv4Address, IPv4Network, ip_address, ip_network
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
COMPOSE_FILE = ROOT / "docker-compose.yml"
COMPOSE = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
DOCKER_COMPOSE = Path("/usr/bin/docker-compose")
# compose service -> (settings class, port variable, the Dockerfile's SERVICE build arg)
SERVICES: dict[str, tuple[type[BaseSettings], str, str]] = {
    "auth": (AuthSettings, "AUTH_PORT", "auth"),
    "mailer": (MailerSettings, "MAILER_PORT", "mailer"),
    "faq": (FaqSettings, "FAQ_PORT", "faq"),
    "portal": (PortalSettings, "PORTAL_PORT", "web"),
}
# What each service must find healthy before it starts.
NEEDS = {
    "auth": {"postgres", "rabbitmq"},
    "mailer": {"postgres", "rabbitmq", "mailpit"},
    "faq": {"postgres", "rabbitmq"},
    "portal": {"postgres", "auth", "faq"},
}
# The services the portal calls with the customer's address in X-Forwarded-For.
BEHIND_THE_PORTAL = ("auth", "faq")


def variables(settings: type[BaseSettings]) -> set[str]:
    return {name.upper() for name in settings.model_fields}


def environment(name: str) -> dict[str, str]:
    return {key: str(value) for key, value in COMPOSE["services"][name]["environment"].items()}


def settings_in_compose(name: str, monkeypatch: pytest.MonkeyPatch) -> BaseSettings:
    """The service's settings as the container would load them: compose's variables,
    the code's defaults for everything else."""
    settings = SERVICES[name][0]
    for variable in variables(settings):
        monkeypatch.delenv(variable, raising=False)
    for key, value in environment(name).items():
        monkeypatch.setenv(key, value)
    return settings()


def published(name: str) -> list[tuple[str | None, int, int]]:
    """(host address or None for all interfaces, host port, container port) per entry."""
    entries = []
    for entry in COMPOSE["services"][name].get("ports", []):
        parts = str(entry).split(":")
        host_ip = parts[0] if len(parts) == 3 else None
        entries.append((host_ip, int(parts[-2]), int(parts[-1])))
    return entries


def subnet() -> IPv4Network:
    [pool] = COMPOSE["networks"]["default"]["ipam"]["config"]
    return ip_network(pool["subnet"])


def dynamic_range() -> IPv4Network:
    [pool] = COMPOSE["networks"]["default"]["ipam"]["config"]
    return ip_network(pool["ip_range"])


def gateway() -> IPv4Address:
    [pool] = COMPOSE["networks"]["default"]["ipam"]["config"]
    return ip_address(pool["gateway"])


def portal_address() -> IPv4Address:
    return ip_address(COMPOSE["services"]["portal"]["networks"]["default"]["ipv4_address"])


def test_the_stack_has_infrastructure_and_the_four_services() -> None:
    assert {"postgres", "rabbitmq", "mailpit", "auth", "mailer", "faq", "portal"} <= set(COMPOSE["services"])
    assert "management" in COMPOSE["services"]["rabbitmq"]["image"]
    assert ("127.0.0.1", 8025, 8025) in published("mailpit")


@pytest.mark.parametrize("name", SERVICES)
def test_every_variable_set_is_a_setting_of_the_service(name: str) -> None:
    settings = SERVICES[name][0]
    assert set(environment(name)) - variables(settings) == set()


@pytest.mark.parametrize("name", SERVICES)
def test_every_value_set_is_accepted_by_the_service(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_in_compose(name, monkeypatch)
    port_variable = SERVICES[name][1]
    assert getattr(settings, port_variable.lower()) == int(environment(name)[port_variable])


@pytest.mark.parametrize("name", SERVICES)
def test_port_variable_matches_the_published_port_and_the_code_default(name: str) -> None:
    settings, port_variable, _ = SERVICES[name]
    service = COMPOSE["services"][name]
    port = int(service["environment"][port_variable])
    assert port == settings.model_fields[port_variable.lower()].default
    assert [(host_port, container_port) for _, host_port, container_port in published(name)] == [(port, port)]
    assert f"127.0.0.1:{port}/readyz" in " ".join(service["healthcheck"]["test"])


def test_only_the_portal_is_reachable_from_other_machines() -> None:
    assert published("portal") == [(None, 8080, 8080)]
    for name in COMPOSE["services"]:
        if name != "portal":
            assert {host_ip for host_ip, _, _ in published(name)} <= {"127.0.0.1"}, name


@pytest.mark.parametrize("name", SERVICES)
def test_services_are_built_from_the_dockerfile_for_their_package(name: str) -> None:
    build = COMPOSE["services"][name]["build"]
    dockerfile = (ROOT / build["dockerfile"]).read_text(encoding="utf-8")
    service_arg = SERVICES[name][2]
    assert build["args"]["SERVICE"] == service_arg
    # The Dockerfile installs the distribution `portal-${SERVICE}` and runs its script.
    assert '--package "portal-${SERVICE}"' in dockerfile and "PORTAL_PROGRAM=portal-${SERVICE}" in dockerfile
    project = tomllib.loads((ROOT / "services" / name / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == f"portal-{service_arg}"
    assert f"portal-{service_arg}" in project["scripts"]


@pytest.mark.parametrize("name", SERVICES)
def test_services_wait_for_healthy_dependencies(name: str) -> None:
    depends = COMPOSE["services"][name]["depends_on"]
    assert NEEDS[name] <= set(depends)
    for dependency in depends:
        assert depends[dependency]["condition"] == "service_healthy"
        assert "healthcheck" in COMPOSE["services"][dependency]


def test_the_mailer_sends_to_the_mail_catcher() -> None:
    mailer = COMPOSE["services"]["mailer"]
    assert mailer["environment"]["SMTP_HOST"] == "mailpit"
    assert mailer["depends_on"]["mailpit"]["condition"] == "service_healthy"
    required = {"SMTP_HOST", "SMTP_PORT", "SMTP_SECURITY", "MAIL_FROM", "SUPPORT_EMAIL", "PORTAL_BASE_URL"}
    assert required <= set(mailer["environment"])


@pytest.mark.parametrize("name", SERVICES)
def test_database_urls_point_at_the_compose_postgres(name: str) -> None:
    postgres = COMPOSE["services"]["postgres"]["environment"]
    url = urlsplit(environment(name)[f"{name.upper()}_DATABASE_URL"])
    assert url.scheme == "postgresql"
    assert (url.hostname, url.port, url.path) == ("postgres", 5432, f"/{postgres['POSTGRES_DB']}")
    assert (url.username, url.password) == (postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"])


@pytest.mark.parametrize("name", ["auth", "mailer", "faq"])
def test_the_event_services_use_the_compose_broker(name: str) -> None:
    url = urlsplit(environment(name)["AMQP_URL"])
    assert url.scheme == "amqp" and (url.hostname, url.port) == ("rabbitmq", 5672)


@pytest.mark.parametrize("name", BEHIND_THE_PORTAL)
def test_the_portal_calls_auth_and_faq_at_their_compose_ports(name: str) -> None:
    url = urlsplit(environment("portal")[f"{name.upper()}_API_URL"])
    port_variable = SERVICES[name][1]
    assert url.scheme == "http"
    assert (url.hostname, url.port) == (name, int(environment(name)[port_variable]))
    assert url.path in ("", "/")


def test_mail_links_lead_to_the_published_portal() -> None:
    base = environment("portal")["PORTAL_BASE_URL"]
    assert environment("mailer")["PORTAL_BASE_URL"] == base
    url = urlsplit(base)
    assert (url.hostname, url.port) == ("localhost", int(environment("portal")["PORTAL_PORT"]))


def test_the_portal_shows_the_document_versions_auth_stores() -> None:
    # One value for both, whether set in compose or left to the code's defaults.
    for variable in ("TERMS_VERSION", "PRIVACY_VERSION"):
        in_auth = environment("auth").get(variable, AuthSettings.model_fields[variable.lower()].default)
        in_portal = environment("portal").get(variable, PortalSettings.model_fields[variable.lower()].default)
        assert in_auth == in_portal, variable


def test_every_service_is_on_the_one_network_with_a_fixed_subnet() -> None:
    assert subnet().prefixlen >= 16 and subnet().is_private
    assert dynamic_range().subnet_of(subnet())
    assert gateway() in subnet() and gateway() not in dynamic_range()
    for name, service in COMPOSE["services"].items():
        assert "network_mode" not in service, name
        assert "default" in service.get("networks", {"default": None}), name


def test_the_portal_has_a_fixed_address_no_other_container_can_get() -> None:
    address = portal_address()
    assert address in subnet()
    assert address not in dynamic_range() and address != gateway()
    assert address not in (subnet().network_address, subnet().broadcast_address)


@pytest.mark.parametrize("name", BEHIND_THE_PORTAL)
def test_auth_and_faq_believe_forwarded_addresses_from_the_portal_only(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    trusted = settings_in_compose(name, monkeypatch).trusted_proxies
    assert any(portal_address() in network for network in trusted)
    for network in trusted:
        assert network.subnet_of(subnet()), network
        # Published ports are reached through the gateway (docker-proxy), and other
        # containers get addresses from the dynamic range: neither may forward for a customer.
        assert gateway() not in network, network
        assert not network.overlaps(dynamic_range()), network


def test_the_portal_believes_no_forwarded_header(monkeypatch: pytest.MonkeyPatch) -> None:
    # Customers connect straight to the published port; on this machine or with Docker
    # Desktop they appear as the gateway, whose X-Forwarded-For they would write.
    trusted = settings_in_compose("portal", monkeypatch).trusted_proxies
    assert not any(gateway() in network for network in trusted)


@pytest.mark.skipif(not DOCKER_COMPOSE.exists(), reason=f"{DOCKER_COMPOSE} is not installed")
def test_docker_compose_accepts_the_file() -> None:
    result = subprocess.run(
        [str(DOCKER_COMPOSE), "-f", str(COMPOSE_FILE), "config", "-q"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
