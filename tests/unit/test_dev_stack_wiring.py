"""`make dev` when the README's ports are taken: the documented variables move the portal
and the mail sink, and the links in mails follow the portal."""

from __future__ import annotations

import smtplib
from pathlib import Path

import pytest

from portal_devtools.mailsink import free_port
from portal_devtools.stack import _start_mail_sink, _wire_portal
from portal_devtools.stack import main as stack_main


def test_defaults_serve_the_portal_where_the_mails_link() -> None:
    env: dict[str, str] = {}
    _wire_portal(env)
    assert (env["PORTAL_BASE_URL"], env["PORTAL_PORT"]) == ("http://localhost:8080", "8080")


def test_moving_only_the_portal_port_moves_the_links_in_mails() -> None:
    env = {"PORTAL_PORT": "8090"}
    _wire_portal(env)
    assert env["PORTAL_BASE_URL"] == "http://localhost:8090"  # not 8080, where another portal may run


def test_moving_only_the_base_url_moves_the_port() -> None:
    env = {"PORTAL_BASE_URL": "http://localhost:8091"}
    _wire_portal(env)
    assert env["PORTAL_PORT"] == "8091"


def test_a_port_and_a_base_url_that_disagree_stop_before_anything_starts() -> None:
    with pytest.raises(SystemExit, match="PORTAL_PORT=8095 but PORTAL_BASE_URL=http://localhost:8090"):
        _wire_portal({"PORTAL_PORT": "8095", "PORTAL_BASE_URL": "http://localhost:8090"})


def test_smtp_port_moves_the_dev_mail_sink(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # the sink stores mails under var/mails/
    port = free_port()
    env = {"SMTP_PORT": str(port)}
    sink = _start_mail_sink(env)
    assert sink is not None
    try:
        assert (env["SMTP_HOST"], env["SMTP_PORT"]) == ("127.0.0.1", str(port))
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            assert smtp.noop()[0] == 250
    finally:
        sink.stop()


def test_a_free_port_for_a_test_server_is_one_the_kernel_does_not_hand_out_itself() -> None:
    # Otherwise the next server started with port 0 (or an outgoing connection) can take
    # it before the test server binds it: "Address already in use" in CI.
    ephemeral_start = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = {free_port() for _ in range(20)}
    assert all(1024 < port < ephemeral_start for port in ports), ports


def test_portal_dev_explains_itself_and_refuses_an_unknown_action(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as asked:
        stack_main(["--help"])
    assert asked.value.code == 0
    assert "make reset-dev" in capsys.readouterr().out
    with pytest.raises(SystemExit) as refused:
        stack_main(["bogus"])
    assert refused.value.code == 2
    assert "invalid choice: 'bogus'" in capsys.readouterr().err
