"""Every problem type of every service speaks German and English: title and detail."""

from __future__ import annotations

import importlib
import json
import pkgutil

import pytest
from aiohttp.test_utils import make_mocked_request

from portal_shared.problems import NOT_FOUND, ProblemType, problem_response

PACKAGES = ("portal_shared", "portal_auth", "portal_faq", "portal_mailer")


def catalogue() -> dict[str, ProblemType]:
    """Every ProblemType defined at module level in the services' packages."""
    found: dict[str, ProblemType] = {}
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.walk_packages(package.__path__, f"{package_name}."):
            module = importlib.import_module(info.name)
            for name, value in vars(module).items():
                if isinstance(value, ProblemType):
                    found.setdefault(f"{info.name}.{name}", value)
    return found


def test_the_catalogue_is_found() -> None:
    codes = {kind.code for kind in catalogue().values()}
    assert {"validation_error", "too_many_attempts", "customer_mismatch", "slug_taken",
            "cors_origin_not_allowed"} <= codes


@pytest.mark.parametrize(("name", "kind"), sorted(catalogue().items()))
def test_every_problem_has_a_german_title_and_details(name: str, kind: ProblemType) -> None:
    assert kind.title_de, f"{name} has no German title"
    assert kind.title_de != kind.title, f"{name}: the German title is the English one"
    assert kind.title_in("de") == kind.title_de
    assert kind.title_in("en") == kind.title
    assert kind.detail_de and kind.detail_en and kind.detail_de != kind.detail_en


@pytest.mark.parametrize(
    ("accept_language", "language", "title", "detail"),
    [
        (None, "de", "Nicht gefunden", "Die angeforderte Ressource wurde nicht gefunden."),
        ("de-DE,de;q=0.9", "de", "Nicht gefunden", "Die angeforderte Ressource wurde nicht gefunden."),
        ("en", "en", "Not found", "The requested resource was not found."),
    ],
)
def test_title_and_detail_follow_the_negotiated_language(
    accept_language: str | None, language: str, title: str, detail: str
) -> None:
    headers = {"Accept-Language": accept_language} if accept_language else {}
    request = make_mocked_request("GET", "/api/v1/x", headers=headers)

    response = problem_response(request, NOT_FOUND)

    body = json.loads(response.text or "")
    assert response.headers["Content-Language"] == language
    assert (body["title"], body["detail"]) == (title, detail)
    assert (body["code"], body["type"]) == ("not_found", "urn:kundenportal:problem:not_found")
