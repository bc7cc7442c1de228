"""docker-compose.yml cannot run here (no Docker engine), so it is checked against the
code: every variable it sets is a setting the service reads, ports agree, and each
service waits for what it needs to be healthy."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic_settings import BaseSettings

from portal_auth.config import AuthSettings
from portal_faq.config import FaqSettings
from portal_mailer.config import MailerSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES: dict[str, tuple[type[BaseSettings], str]] = {
    "auth": (AuthSettings, "AUTH_PORT"),
    "mailer": (MailerSettings, "MAILER_PORT"),
    "faq": (FaqSettings, "FAQ_PORT"),
}


def variables(settings: type[BaseSettings]) -> set[str]:
    return {name.upper() for name in settings.model_fields}


def test_the_stack_has_infrastructure_and_the_three_services() -> None:
    assert {"postgres", "rabbitmq", "mailpit", "auth", "mailer", "faq"} <= set(COMPOSE["services"])
    assert "management" in COMPOSE["services"]["rabbitmq"]["image"]
    assert "8025:8025" in COMPOSE["services"]["mailpit"]["ports"]


@pytest.mark.parametrize("name", SERVICES)
def test_every_variable_set_is_a_setting_of_the_service(name: str) -> None:
    settings, _ = SERVICES[name]
    environment = set(COMPOSE["services"][name]["environment"])
    assert environment - variables(settings) == set()


@pytest.mark.parametrize("name", SERVICES)
def test_port_variable_matches_the_published_port_and_the_code_default(name: str) -> None:
    settings, port_variable = SERVICES[name]
    service = COMPOSE["services"][name]
    port = service["environment"][port_variable]
    default = settings.model_fields[port_variable.lower()].default
    assert int(port) == default
    assert f"{port}:{port}" in service["ports"]
    assert f"127.0.0.1:{port}/readyz" in " ".join(service["healthcheck"]["test"])


@pytest.mark.parametrize("name", SERVICES)
def test_services_are_built_from_the_dockerfile_for_their_package(name: str) -> None:
    build = COMPOSE["services"][name]["build"]
    assert (ROOT / build["dockerfile"]).is_file()
    assert build["args"]["SERVICE"] == name
    assert (ROOT / "services" / name / "pyproject.toml").is_file()


@pytest.mark.parametrize("name", SERVICES)
def test_services_wait_for_healthy_dependencies(name: str) -> None:
    depends = COMPOSE["services"][name]["depends_on"]
    for dependency in ("postgres", "rabbitmq"):
        assert depends[dependency]["condition"] == "service_healthy"
        assert "healthcheck" in COMPOSE["services"][dependency]


def test_the_mailer_sends_to_the_mail_catcher() -> None:
    mailer = COMPOSE["services"]["mailer"]
    assert mailer["environment"]["SMTP_HOST"] == "mailpit"
    assert mailer["depends_on"]["mailpit"]["condition"] == "service_healthy"
    required = {"SMTP_HOST", "SMTP_PORT", "SMTP_SECURITY", "MAIL_FROM", "SUPPORT_EMAIL", "PORTAL_BASE_URL"}
    assert required <= set(mailer["environment"])


def test_database_urls_point_at_the_compose_postgres() -> None:
    for name in SERVICES:
        environment = COMPOSE["services"][name]["environment"]
        url = environment[f"{name.upper()}_DATABASE_URL"]
        assert url.startswith("postgresql://") and "@postgres:5432/" in url
        assert environment["AMQP_URL"].startswith("amqp://") and "@rabbitmq:5672" in environment["AMQP_URL"]
