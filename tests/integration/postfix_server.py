"""A real Postfix for the mailer's tests: STARTTLS and implicit TLS, SASL login, a Maildir.

Debian's `postfix` package is installed without a system instance ("No configuration");
this starts one of its own from a temporary folder (config, queue and data directories,
own ports on 127.0.0.1) as root, which Postfix's master needs. Logins are checked by
Cyrus SASL against a sasldb file (`sasl2-bin`'s saslpasswd2) that the test can change
while Postfix runs — the "password fixed at the provider" case. The certificate is
signed by a throwaway CA; `use_certificate_from` swaps in one from another CA and
reloads, for "the server's certificate is not trusted, then it is".

Every mail to any address is delivered by Postfix's `virtual` agent into one Maildir,
read back with `mails()`. Like the relays the issue names, it insists on a fully
qualified EHLO name (`reject_non_fqdn_helo_hostname`, answered at RCPT as Postfix does
by default: 504 5.5.2).
"""

from __future__ import annotations

import mailbox
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import Message
from ipaddress import IPv4Address
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

POSTFIX = "/usr/sbin/postfix"
SASLPASSWD2 = "/usr/sbin/saslpasswd2"
SASL_REALM = "portal.test"
START_TIMEOUT = 20.0
# Only what the tests may use by hand here (see tests/README or the helper's brief);
# any free pair in it will do.
PORT_RANGE = range(2500, 2600)


def missing_reason() -> str | None:
    """Why these tests cannot run here, or None when they can."""
    for program, package in ((POSTFIX, "postfix"), (SASLPASSWD2, "sasl2-bin")):
        if not os.access(program, os.X_OK):
            return f"{program} not installed (Debian package {package}; .ci/run installs it)"
    if os.geteuid() != 0:
        return "Postfix's master process must start as root"
    return None


@dataclass(frozen=True)
class Tls:
    ca: Path  # what a client must trust
    certificate: Path
    key: Path


def make_ca_and_certificate(folder: Path, name: str) -> Tls:
    """A CA called `name` and a certificate it signed for 127.0.0.1 and localhost."""
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    valid = {"not_valid_before": now - timedelta(minutes=5), "not_valid_after": now + timedelta(hours=2)}
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid["not_valid_before"]).not_valid_after(valid["not_valid_after"])
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid["not_valid_before"]).not_valid_after(valid["not_valid_after"])
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]
        ), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    tls = Tls(folder / "ca.pem", folder / "cert.pem", folder / "key.pem")
    tls.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    tls.certificate.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    tls.key.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))
    tls.key.chmod(0o600)
    return tls


def _worker_ports() -> range:
    """This pytest-xdist worker's share of PORT_RANGE (gw0: 2500-2509, gw1: 2510-2519, …;
    all of it without xdist). Every worker that gets tests of the Postfix module starts an
    instance of its own; probing the same ports at the same time, two instances could
    pick the same pair, one master fails to bind, and a test talks to the other worker's
    Postfix (its CA, its password)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return PORT_RANGE
    share = 10
    start = PORT_RANGE.start + (int(worker[2:]) * share) % len(PORT_RANGE)
    return range(start, start + share)


def free_ports(count: int) -> list[int]:
    ports: list[int] = []
    for port in _worker_ports():
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
        if len(ports) == count:
            return ports
    raise RuntimeError(f"no {count} free ports in {_worker_ports()}")


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} after {timeout}s")
        time.sleep(0.05)


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


class PostfixServer:
    """One Postfix instance in `root`; start(), stop(), and the knobs the tests turn."""

    def __init__(self, root: Path, tls: Tls, username: str, password: str) -> None:
        self.root = root
        self.config = root / "etc"
        self.queue = root / "queue"
        self.data = root / "data"
        self.maildir = root / "mail" / "inbox"
        # Debian's smtpd looks for $config_directory/sasl/smtpd.conf (whatever
        # cyrus_sasl_config_path says), so the SASL files live there.
        self.sasldb = self.config / "sasl" / "sasldb2"
        self.log = root / "maillog"
        self.username = username
        self.starttls_port, self.tls_port = free_ports(2)
        self._tls = tls
        self._password = password
        self._log_start = 0

    # --- lifecycle ---------------------------------------------------------------

    def start(self) -> None:
        # Postfix's daemons run as the mail owner and must reach their files: no 0700 on
        # the way (a pytest tmp_path has one), hence a folder of its own.
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        for folder in (self.config, self.queue, self.data, self.sasldb.parent):
            folder.mkdir(parents=True, exist_ok=True)
        owner = _postfix_ids()
        # The virtual agent writes as the mail owner; the test reads as root.
        (self.root / "mail").mkdir(exist_ok=True)
        os.chown(self.root / "mail", *owner)
        os.chown(self.data, *owner)
        self._install_certificate(self._tls)
        self.set_password(self._password)
        (self.sasldb.parent / "smtpd.conf").write_text(
            "pwcheck_method: auxprop\nauxprop_plugin: sasldb\n"
            f"sasldb_path: {self.sasldb}\nmech_list: PLAIN LOGIN\n"
        )
        (self.config / "main.cf").write_text(self._main_cf(owner))
        (self.config / "master.cf").write_text(self._master_cf())
        self._postfix("start")
        wait_until(lambda: port_open(self.starttls_port) and port_open(self.tls_port),
                   START_TIMEOUT, "Postfix is not listening")

    def stop(self) -> None:
        self._postfix("stop", check=False)
        pid_file = self.queue / "pid" / "master.pid"
        wait_until(lambda: not _running(pid_file), START_TIMEOUT, "Postfix has not stopped")

    def reload(self) -> None:
        """Re-read the configuration; new sessions see it (TLS files included)."""
        self._postfix("reload")

    # --- what the tests change -----------------------------------------------------

    def set_password(self, password: str) -> None:
        """The account's password as the server checks it, at once (sasldb is read per login)."""
        subprocess.run(
            [SASLPASSWD2, "-p", "-c", "-f", str(self.sasldb), "-u", SASL_REALM, self.username],
            input=password.encode(), check=True, capture_output=True,
        )
        # smtpd runs as the mail owner and reads the database at each login.
        os.chown(self.sasldb, 0, _postfix_ids()[1])
        self.sasldb.chmod(0o640)

    def use_certificate_from(self, tls: Tls) -> None:
        self._install_certificate(tls)
        self.reload()

    def reset(self) -> None:
        """As started (password, certificate), with an empty Maildir and log: for the next
        test, without the seconds a restart takes."""
        self.set_password(self._password)
        if self.tls_ca != self._tls.ca:
            self.use_certificate_from(self._tls)
        for sub in ("new", "cur", "tmp"):
            for mail in (self.maildir / sub).glob("*"):
                mail.unlink()
        self._log_start = self.log.stat().st_size if self.log.exists() else 0

    # --- what arrived ------------------------------------------------------------------

    def mails(self) -> list[Message]:
        if not (self.maildir / "new").exists():
            return []
        box = mailbox.Maildir(self.maildir, factory=None, create=False)
        return [box.get_message(key) for key in box.iterkeys()]

    def recipients(self) -> list[str]:
        """Who each delivered mail went to (Postfix's X-Original-To), in any order."""
        return [str(mail["X-Original-To"]) for mail in self.mails()]

    def log_text(self) -> str:
        """Postfix's log since the last reset()."""
        if not self.log.exists():
            return ""
        with self.log.open("rb") as log:
            log.seek(self._log_start)
            return log.read().decode(errors="replace")

    # --- files -------------------------------------------------------------------------

    def _install_certificate(self, tls: Tls) -> None:
        self.tls_ca = tls.ca  # what a client must trust to talk to it now
        shutil.copyfile(tls.key, self.config / "key.pem")
        shutil.copyfile(tls.certificate, self.config / "cert.pem")
        (self.config / "key.pem").chmod(0o600)

    def _postfix(self, command: str, check: bool = True) -> None:
        result = subprocess.run([POSTFIX, "-c", str(self.config), command],
                                capture_output=True, text=True, check=False)
        if check and result.returncode != 0:
            raise RuntimeError(f"postfix {command}: {result.stderr.strip()}\n{self.log_text()}")

    def _main_cf(self, owner: tuple[int, int]) -> str:
        uid, gid = owner
        return f"""\
compatibility_level = 3.6
config_directory = {self.config}
queue_directory = {self.queue}
data_directory = {self.data}
maillog_file = {self.log}
maillog_file_prefixes = {self.root}
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.portal.test
mydomain = portal.test
mydestination =
mynetworks =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
smtputf8_enable = yes
biff = no
alias_maps =
alias_database =
# No DNS: everything is local and delivered here.
smtp_dns_support_level = disabled
disable_dns_lookups = yes
smtpd_peername_lookup = no
# Every address is ours, and everything goes to one Maildir.
virtual_mailbox_domains = static:all
virtual_mailbox_base = {self.root / "mail"}
virtual_mailbox_maps = static:inbox/
virtual_minimum_uid = 1
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
# Logins: Cyrus SASL, checked against the test's sasldb.
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = {self.sasldb.parent}
smtpd_sasl_local_domain = {SASL_REALM}
smtpd_sasl_security_options = noanonymous
smtpd_tls_auth_only = yes
smtpd_tls_chain_files = {self.config / "key.pem"}, {self.config / "cert.pem"}
smtpd_tls_security_level = encrypt
# A strict relay: only logged-in clients, with a fully qualified EHLO name.
smtpd_helo_required = yes
smtpd_helo_restrictions = reject_non_fqdn_helo_hostname
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = permit_sasl_authenticated, reject
# Failed logins are answered at once (the default sleeps a second first).
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 100
smtpd_hard_error_limit = 200
smtpd_client_connection_rate_limit = 0
anvil_rate_time_unit = 60s
"""

    def _master_cf(self) -> str:
        # Debian's defaults chroot smtpd into the queue directory; this instance does not,
        # so it needs no copies of /etc files in there.
        services = [
            f"127.0.0.1:{self.starttls_port} inet n - n - - smtpd",
            f"127.0.0.1:{self.tls_port} inet n - n - - smtpd -o smtpd_tls_wrappermode=yes",
            "pickup unix n - n 60 1 pickup",
            "cleanup unix n - n - 0 cleanup",
            "qmgr unix n - n 300 1 qmgr",
            "tlsmgr unix - - n 1000? 1 tlsmgr",
            "rewrite unix - - n - - trivial-rewrite",
            "bounce unix - - n - 0 bounce",
            "defer unix - - n - 0 bounce",
            "trace unix - - n - 0 bounce",
            "verify unix - - n - 1 verify",
            "flush unix n - n 1000? 0 flush",
            "proxymap unix - - n - - proxymap",
            "proxywrite unix - - n - 1 proxymap",
            "smtp unix - - n - - smtp",
            "relay unix - - n - - smtp",
            "showq unix n - n - - showq",
            "error unix - - n - - error",
            "retry unix - - n - - error",
            "discard unix - - n - - discard",
            "local unix - n n - - local",
            "virtual unix - n n - - virtual",
            "lmtp unix - - n - - lmtp",
            "anvil unix - - n - 1 anvil",
            "scache unix - - n - 1 scache",
            "postlog unix-dgram n - n - 1 postlogd",
        ]
        return "\n".join(services) + "\n"


def _postfix_ids() -> tuple[int, int]:
    import pwd

    entry = pwd.getpwnam("postfix")
    return entry.pw_uid, entry.pw_gid


def _running(pid_file: Path) -> bool:
    try:
        pid = int(pid_file.read_text().split()[0])
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, IndexError, ProcessLookupError):
        return False
    return True
