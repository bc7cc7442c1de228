from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from portal_auth import cli as auth_cli
from portal_auth.app import create_app as create_auth_app
from portal_auth.challenges import load_hmac_key
from portal_auth.config import AuthSettings
from portal_faq import cli as faq_cli
from portal_shared.i18n import negotiate
from portal_shared.settings import ConfigurationError, load_settings


@pytest.mark.parametrize(
    ("header", "explicit", "expected"),
    [
        (None, None, "de"),
        ("en", None, "en"),
        ("en-US,en;q=0.9", None, "en"),
        ("de-DE,de;q=0.9,en;q=0.8", None, "de"),
        ("fr-FR,en;q=0.5,de;q=0.4", None, "en"),
        ("en;q=0.5,de;q=0.5", None, "de"),
        ("fr", None, "de"),
        ("en;q=garbage", None, "de"),
        ("en", "de", "de"),
        (None, "en", "en"),
        (None, "xx", "de"),
    ],
)
def test_language_negotiation_prefers_german(header: str | None, explicit: str | None, expected: str) -> None:
    assert negotiate(header, explicit) == expected


def _refusal(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> str:
    """What auth's start-up says when `name` is set to `value`."""
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as error:
        load_settings(AuthSettings, "portal-auth")
    return str(error.value.code)


def test_a_wrong_value_names_the_variable_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    message = _refusal(monkeypatch, "AUTH_PORT", "achtzig")
    assert message.startswith("portal-auth: configuration error: AUTH_PORT='achtzig'")
    assert "\n" not in message


def test_secrets_are_not_echoed_in_configuration_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    message = _refusal(monkeypatch, "AMQP_URL", "http://user:geheim@host/")
    assert "AMQP_URL" in message
    assert "geheim" not in message


@pytest.mark.parametrize("value", ["10.0.0.0/8", "bogus"])
def test_a_list_variable_that_is_not_json_names_the_variable_in_one_line(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    # An operator writes a CIDR as in every other tool; pydantic-settings cannot decode it.
    message = _refusal(monkeypatch, "TRUSTED_PROXIES", value)
    assert message.startswith(f"portal-auth: configuration error: TRUSTED_PROXIES='{value}': not valid JSON")
    assert "\n" not in message


def test_a_bad_list_entry_is_named_by_its_variable_and_position(monkeypatch: pytest.MonkeyPatch) -> None:
    message = _refusal(monkeypatch, "TRUSTED_PROXIES", '["10.0.0.0/8", "bogus"]')
    assert message.startswith("portal-auth: configuration error: TRUSTED_PROXIES[1]='bogus': ")
    assert "LAX-OR-STRICT" not in message  # the validator's path is no part of the name
    assert message.count("TRUSTED_PROXIES") == 1  # IPv4 and IPv6 alternatives share one part


def test_a_secret_list_variable_that_is_not_json_is_named_but_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    message = _refusal(monkeypatch, "JWT_RETIRED_PUBLIC_KEYS", "-----BEGIN PUBLIC KEY----- geheim")
    assert message.startswith("portal-auth: configuration error: JWT_RETIRED_PUBLIC_KEYS: not valid JSON")
    assert "geheim" not in message


def test_defaults_work_on_this_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AUTH_DATABASE_URL", "AMQP_URL", "AUTH_PORT", "ACTIVATION_TTL_HOURS", "RESET_TTL_MINUTES"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(AuthSettings, "portal-auth")
    assert settings.auth_database_url == "postgresql://postgres@127.0.0.1:5432/portal"
    assert settings.amqp_url == "amqp://guest:guest@127.0.0.1:5672/"
    assert (settings.auth_port, settings.activation_ttl_hours, settings.reset_ttl_minutes) == (8081, 24, 60)


async def test_strings_a_database_cannot_store_are_a_validation_error() -> None:
    from aiohttp.test_utils import make_mocked_request
    from pydantic import BaseModel

    from portal_shared.problems import Problem, parse_json_body

    class Body(BaseModel):
        name: str

    for text in ('{"name": "a\\u0000b"}', '{"name": "\\udb7f"}', '{"\\u0000": 1, "name": "x"}'):
        request = make_mocked_request("POST", "/", headers={"Content-Type": "application/json"})
        request._read_bytes = text.encode()  # the body as the client sent it
        with pytest.raises(Problem) as problem:
            await parse_json_body(request, Body)
        assert problem.value.kind.code == "validation_error"
        assert problem.value.errors[0].code == "invalid_characters"


@pytest.mark.parametrize("kind", ["uvloop", "asyncio"])
def test_serve_runs_on_the_event_loop_it_is_told(kind: str) -> None:
    import asyncio

    import uvloop

    from portal_shared.cli import new_event_loop

    loop = new_event_loop(kind)
    try:
        assert isinstance(loop, uvloop.Loop) == (kind == "uvloop")
        assert isinstance(loop, asyncio.AbstractEventLoop)
        assert loop.run_until_complete(_answer()) == 42
    finally:
        loop.close()


async def _answer() -> int:
    return 42


def test_serve_defaults_to_asyncio_takes_uvloop_when_told_and_refuses_other_loops(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from portal_faq.config import FaqSettings

    monkeypatch.delenv("EVENT_LOOP", raising=False)
    assert load_settings(FaqSettings, "portal-faq").event_loop == "asyncio"
    assert load_settings(AuthSettings, "portal-auth").event_loop == "asyncio"
    monkeypatch.setenv("EVENT_LOOP", "uvloop")
    assert load_settings(AuthSettings, "portal-auth").event_loop == "uvloop"
    monkeypatch.setenv("EVENT_LOOP", "trio")
    with pytest.raises(ConfigurationError) as error:
        load_settings(AuthSettings, "portal-auth")
    assert "EVENT_LOOP" in str(error.value.code)


@pytest.mark.parametrize(("ip", "subject"), [
    ("203.0.113.7", "203.0.113.7"),
    ("::ffff:203.0.113.7", "203.0.113.7"),
    ("2001:db8:7:1::1", "2001:db8:7:1::/64"),
    ("2001:db8:7:1:ffff:ffff:ffff:ffff", "2001:db8:7:1::/64"),
    ("2001:db8:7:2::1", "2001:db8:7:2::/64"),
    ("unknown", "unknown"),
])
def test_per_ip_limits_count_an_ipv6_client_by_its_64(ip: str, subject: str) -> None:
    from portal_shared.ratelimit import client_subject

    assert client_subject(ip) == subject


def _auth_app_refusal(tmp_path: Path, **secrets: str) -> str:
    """What auth's start-up says without the production secrets `secrets` leaves out, on
    a filesystem where no development key can be kept (a read-only container's)."""
    unwritable = tmp_path / "a-file"
    unwritable.write_text("")
    settings = AuthSettings(
        auth_database_url="postgresql://nobody@127.0.0.1:1/none", jwt_key_dir=unwritable / "keys", **secrets
    )
    with pytest.raises(ConfigurationError) as error:
        create_auth_app(settings)
    return str(error.value.code)


def test_without_the_signing_key_where_none_can_be_kept_auth_names_it_in_one_line(tmp_path: Path) -> None:
    message = _auth_app_refusal(tmp_path)
    assert message.startswith("portal-auth: configuration error: JWT_PRIVATE_KEY is not set")
    assert "\n" not in message


def test_without_the_challenge_key_where_none_can_be_kept_auth_names_it_in_one_line(tmp_path: Path) -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    message = _auth_app_refusal(tmp_path, jwt_private_key=pem)
    assert message.startswith("portal-auth: configuration error: ALTCHA_HMAC_KEY is not set")
    assert "\n" not in message


def test_development_keys_are_generated_once_and_kept(tmp_path: Path) -> None:
    first = load_hmac_key(None, tmp_path)
    assert load_hmac_key(None, tmp_path) == first  # a restart (or a second replica) keeps it
    assert (tmp_path / "altcha-hmac.key").stat().st_mode & 0o077 == 0  # nobody else may read it
    assert load_hmac_key("configured", tmp_path) == "configured"


@pytest.mark.parametrize(
    ("main", "command", "summary"),
    [
        (auth_cli.main, "import-customers", "load customer master data"),
        (auth_cli.main, "customer", "support: who holds a customer number"),
        (faq_cli.main, "import", "replace the whole FAQ with the content of a TOML file"),
    ],
)
def test_every_command_says_what_it_does_in_the_list_of_commands(
    main: Callable[[list[str]], int], command: str, summary: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    listed = " ".join(capsys.readouterr().out.split())
    assert f"{command} {summary}" in listed
