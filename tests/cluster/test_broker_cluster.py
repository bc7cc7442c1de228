"""The portal on a three-node RabbitMQ cluster behind HAProxy loses no mail when the
node leading the mailer queue dies.

Real processes throughout: `portal-auth serve` and two `portal-mailer serve` replicas,
all with HAProxy's address as their one `AMQP_URL`, PostgreSQL, an SMTP sink. While
1,000 customers register, the node that leads the mailer's quorum queue gets SIGKILL;
later it is started again with its data and rejoins. Every registration must be
answered 202, every activation mail arrive (a second copy only within the documented
window), nothing be dead-lettered, and every quorum queue have three members online at
the end. Run by `make test-cluster` (not by `make test`: it starts its own broker nodes).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import aio_pika
import aiohttp
import pytest

from portal_devtools.mailsink import MailSink, free_port
from portal_shared import topology
from tests.cluster.rabbitmq import Node, RabbitCluster
from tests.support import ServiceProcess, console_script, eventually, run_command

# The test's own deadline ends it first (and cleanly); pytest-timeout is the backstop.
# A guard against hangs, not a performance target: the time is mostly auth hashing 1,000
# registrations (two argon2id each), so it depends on what else the machine runs
# (README: RabbitMQ as a cluster has the measured figures).
TEST_DEADLINE = 600.0
pytestmark = [pytest.mark.cluster, pytest.mark.timeout(TEST_DEADLINE + 30)]

REGISTRATIONS = 1000
IN_PARALLEL = 24  # registrations in flight (auth hashes two argon2id per registration)
MAILER_CONCURRENCY = 8
MAILERS = 2
KILL_AFTER_MAILS = 250  # the leader dies with three quarters of the mails still to come
BACK_AFTER_MAILS = 100  # ... and comes back once this many were mailed without it
PASSWORD = "Sonne!Wind7Meer"
DEADLINE = 120.0


def address(i: int) -> str:
    return f"cluster{i}@example.de"


def customer_number(i: int) -> str:
    return str(30000 + i)


async def import_customers(database_url: str, tmp_path: Path) -> None:
    csv = tmp_path / "customers.csv"
    rows = "".join(f"{customer_number(i)},Cluster\n" for i in range(REGISTRATIONS))
    csv.write_text("customer_number,last_name\n" + rows, encoding="utf-8")
    result = await run_command(
        console_script("portal-auth"), "import-customers", str(csv),
        env={**os.environ, "AUTH_DATABASE_URL": database_url},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{REGISTRATIONS} added, 0 updated, 0 unchanged"


def service(name: str, script: str, env: dict[str, str], log_dir: Path) -> ServiceProcess:
    port = free_port()
    port_variable = "AUTH_PORT" if script == "portal-auth" else "MAILER_PORT"
    return ServiceProcess(
        name, [console_script(script), "serve"],
        {**os.environ, **env, port_variable: str(port), "BIND_HOST": "127.0.0.1", "LOG_LEVEL": "WARNING"},
        port, log_dir,
    )


async def register_all(auth: ServiceProcess) -> Counter[int]:
    """1,000 registrations, `IN_PARALLEL` at a time, each from its own client address
    (auth believes X-Forwarded-For from 127.0.0.1 here; registration is limited per IP)."""
    statuses: Counter[int] = Counter()
    next_one = iter(range(REGISTRATIONS))

    async def client(http: aiohttp.ClientSession) -> None:
        for i in next_one:
            body = {
                "last_name": "Cluster", "customer_number": customer_number(i), "email": address(i),
                "password": PASSWORD, "accept_terms": True, "accept_privacy": True,
            }
            ip = f"10.{i // 250}.{i % 250}.1"
            async with http.post(
                f"{auth.base_url}/api/v1/auth/register", json=body, headers={"X-Forwarded-For": ip}
            ) as response:
                statuses[response.status] += 1

    async with aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=60), cookie_jar=aiohttp.DummyCookieJar()
    ) as http:
        await asyncio.gather(*(client(http) for _ in range(IN_PARALLEL)))
    return statuses


class Progress:
    """Prints each step with the seconds since the start: where the time goes, and where
    a run that fails got to."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self, what: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f} s] {what}", flush=True)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_report(cluster: RabbitCluster, since: float, mailers: list[ServiceProcess], auth: ServiceProcess) -> str:
    """Where the machine's time went: the share of each part, to tell a slow run's cause."""
    parts = {"auth": auth.pid, **{m.name: m.pid for m in mailers}}
    parts |= {node.name.split("@")[0]: node.vm_pid for node in cluster.nodes}
    used = {name: cpu_seconds(pid) for name, pid in parts.items() if pid is not None}
    wall = time.monotonic() - since
    return ", ".join(f"{name} {seconds:.0f}" for name, seconds in used.items()) + f" (in {wall:.0f} s)"


def mails_since(sink: MailSink, moment: datetime) -> list[datetime]:
    return sorted(mail.received_at for mail in sink.mails if mail.received_at > moment)


async def seconds_until(probe: Callable[[], Awaitable[bool]], timeout: float) -> float:
    started = time.monotonic()
    await eventually(probe, timeout=timeout, interval=1)
    return time.monotonic() - started


async def all_members_online(cluster: RabbitCluster, via: Node) -> bool:
    queues = await cluster.quorum_queues(via)
    return bool(queues) and all(len(q.online) == len(cluster.nodes) for q in queues.values())


async def test_killing_the_mailer_queue_leader_under_1000_registrations_loses_no_mail(
    rabbit_cluster: RabbitCluster, database_url: str, smtp_sink: MailSink, tmp_path: Path
) -> None:
    cluster = rabbit_cluster
    step = Progress()
    broker = {"AMQP_URL": cluster.url}
    auth = service("auth", "portal-auth", broker | {
        "AUTH_DATABASE_URL": database_url, "JWT_KEY_DIR": str(tmp_path / "keys"),
        "TRUSTED_PROXIES": '["127.0.0.1/32"]',
    }, tmp_path)
    mailers = [
        service(f"mailer{n}", "portal-mailer", broker | {
            "MAILER_DATABASE_URL": database_url, "SMTP_HOST": smtp_sink.host,
            "SMTP_PORT": str(smtp_sink.port), "PORTAL_BASE_URL": "http://portal.test",
            "MAILER_CONCURRENCY": str(MAILER_CONCURRENCY),
        }, tmp_path)
        for n in range(1, MAILERS + 1)
    ]
    services = [auth, *mailers]
    load: asyncio.Task[Counter[int]] | None = None
    try:
        # Fails here, inside the test, so the processes are stopped and the progress
        # shows how far it got (pytest-timeout would abandon the event loop instead).
        async with asyncio.timeout(TEST_DEADLINE):
            await asyncio.gather(cluster.start(progress=step), import_customers(database_url, tmp_path))
            await asyncio.gather(*(s.start() for s in services))
            step("customers imported; auth and two mailers ready on the cluster")
            # After the cluster formed: argon2 hashing at full speed would starve the
            # nodes' boot and the CLI tools on a small machine.
            load = asyncio.create_task(register_all(auth))
            load_started = time.monotonic()
            await the_leader_dies_under_load(cluster, load, mailers, smtp_sink, step)
            print(f"  CPU seconds since the load started: {cpu_report(cluster, load_started, mailers, auth)}")
    finally:
        if load is not None:
            load.cancel()
            await asyncio.gather(load, return_exceptions=True)
        await asyncio.gather(*(s.stop() for s in services))


async def the_leader_dies_under_load(
    cluster: RabbitCluster, load: asyncio.Task[Counter[int]], mailers: list[ServiceProcess], sink: MailSink,
    step: Progress,
) -> None:
    first = cluster.nodes[0]
    queues = await cluster.quorum_queues(first)
    assert {len(q.members) for q in queues.values()} == {3}, queues  # AMQP_QUORUM_REPLICAS' default
    leader = cluster.node_named(queues[topology.MAILER_QUEUE].leader)
    survivor = next(node for node in cluster.nodes if node is not leader)

    await sink.wait_for(lambda mails: len(mails) >= KILL_AFTER_MAILS or load.done(), timeout=DEADLINE)
    assert not load.done(), "the registrations ended before the kill: nothing would be proven"

    killed_at = datetime.now(UTC)
    cluster.kill(leader)
    await cluster.wait_dead(leader)
    mailed_before_kill = len(sink.mails)
    step(f"killed {leader.name}, the leader of {topology.MAILER_QUEUE}, after {mailed_before_kill} mails")
    await sink.wait_for(lambda _: len(mails_since(sink, killed_at)) >= 1, timeout=DEADLINE)
    first_after_kill = mails_since(sink, killed_at)[0] - killed_at
    step("first mail after the kill")
    await sink.wait_for(
        lambda _: len(mails_since(sink, killed_at)) >= BACK_AFTER_MAILS or load.done(), timeout=DEADLINE
    )
    new_leader = (await cluster.quorum_queues(survivor))[topology.MAILER_QUEUE].leader
    back_at = datetime.now(UTC)
    step(f"{len(mails_since(sink, killed_at))} mails since the kill, new leader {new_leader}; "
         f"starting {leader.name} again")
    await cluster.start_node(leader)
    step(f"{leader.name} is back")
    # Watched while the registrations go on: how long its queue members take to catch up.
    rejoined = asyncio.create_task(seconds_until(lambda: all_members_online(cluster, survivor), DEADLINE))

    statuses = await load  # bounded by the test's deadline
    assert statuses == Counter({202: REGISTRATIONS}), statuses
    step("all registrations answered")

    expected = {address(i) for i in range(REGISTRATIONS)}
    await sink.wait_for(lambda mails: expected <= {m.recipients[0] for m in mails}, timeout=DEADLINE)
    step("every activation mail arrived")
    rejoined_after = await rejoined
    step("every quorum queue has its three members online")
    await eventually(lambda: settled(cluster.url, mailers), timeout=DEADLINE, interval=0.5)
    queues = await cluster.quorum_queues(survivor)

    mails = sink.mails
    sent = Counter(mail.recipients[0] for mail in mails)
    duplicates = len(mails) - len(sent)
    after_kill = mails_since(sink, killed_at)
    longest_pause = max(b - a for a, b in itertools.pairwise(after_kill))
    print(
        f"\nbroker cluster: {REGISTRATIONS} registrations through auth, {MAILERS} mailers; "
        f"{leader.name} (leader of {topology.MAILER_QUEUE}) killed after {mailed_before_kill} mails, "
        f"new leader {new_leader}"
        f"\n  kill -> first mail after it: {first_after_kill.total_seconds() * 1000:.0f} ms; "
        f"longest pause between two mails after the kill: {longest_pause.total_seconds() * 1000:.0f} ms"
        f"\n  node started again {(back_at - killed_at).total_seconds():.1f} s after the kill; every quorum "
        f"queue with its 3 members online {rejoined_after:.1f} s after it answered AMQP again"
        f"\n  {len(mails)} mails to {len(sent)} addresses, duplicates: {duplicates}; "
        f"dead letters: {queues[topology.MAILER_DEAD_LETTER_QUEUE].messages}",
        flush=True,
    )
    assert set(sent) == expected
    # A second copy only inside the documented window: a mail accepted by SMTP whose
    # record was not yet committed — at most one per worker slot, and one per address.
    assert max(sent.values()) <= 2, sent.most_common(3)
    assert duplicates <= MAILERS * MAILER_CONCURRENCY, duplicates
    assert queues[topology.MAILER_DEAD_LETTER_QUEUE].messages == 0
    assert all(len(q.online) == 3 and len(q.members) == 3 for q in queues.values()), queues
    assert sum([await m.metric("mailer_mails_dead_lettered_total") for m in mailers]) == 0


async def settled(url: str, mailers: list[ServiceProcess]) -> bool:
    """The mailer queue empty and no mailer holding a message."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(topology.MAILER_QUEUE, passive=True)
        waiting = queue.declaration_result.message_count
    in_flight = [await m.metric("mailer_messages_in_flight") for m in mailers]
    return waiting == 0 and not any(in_flight)
