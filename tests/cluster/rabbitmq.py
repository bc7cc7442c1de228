"""Three RabbitMQ nodes on this machine, joined into one cluster, behind HAProxy.

Each node has its own name, ports, data and log directories; all share one Erlang cookie
(in a HOME of their own, so neither the machine's `/var/lib/rabbitmq/.erlang.cookie` nor
the node already serving 5672 is touched). The CLI tools run with the same HOME and a
distribution port range of their own. Nodes are started with Debian's scripts from
`/usr/lib/rabbitmq/bin` (not the `/usr/sbin` wrappers, which switch to the `rabbitmq`
user and lose the environment).

Everything started here runs in a process group of its own and is killed by `close()`,
which also deletes the directories: whatever happened to the test.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aio_pika

RABBITMQ_BIN = Path(os.environ.get("RABBITMQ_BIN", "/usr/lib/rabbitmq/bin"))
HAPROXY = os.environ.get("HAPROXY") or shutil.which("haproxy") or "/usr/sbin/haproxy"
HOST = "127.0.0.1"
NODE_PREFIX = "portal-cluster"


@dataclass(frozen=True)
class Ports:
    """Fixed ports of this test (the helper's range), movable as a block by one variable."""

    base: int = int(os.environ.get("CLUSTER_TEST_PORT_BASE", "5701"))

    def amqp(self, index: int) -> int:  # 5701, 5702, 5703 for nodes 1, 2, 3
        return self.base + index - 1

    def dist(self, index: int) -> int:  # 25701, 25702, 25703
        return self.base + 20000 + index - 1

    @property
    def load_balancer(self) -> int:  # 5710
        return self.base + 9

    @property
    def cli_dist(self) -> tuple[int, int]:  # 25710-25799: one per CLI call running at once
        return self.base + 20009, self.base + 20098


@dataclass
class Node:
    index: int
    name: str
    amqp_port: int
    dist_port: int
    directory: Path
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@{HOST}:{self.amqp_port}/"

    @property
    def pid_file(self) -> Path:
        return self.directory / "pid"

    @property
    def log_dir(self) -> Path:
        return self.directory / "log"

    @property
    def vm_pid(self) -> int | None:
        """The Erlang VM's process id (the node writes it once it boots)."""
        try:
            return int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None


@dataclass
class RabbitCluster:
    work: Path
    ports: Ports = field(default_factory=Ports)
    size: int = 3
    nodes: list[Node] = field(default_factory=list)
    haproxy: asyncio.subprocess.Process | None = None

    def __post_init__(self) -> None:
        self.home = self.work / "home"
        self.nodes = [
            Node(i, f"{NODE_PREFIX}-{i}@localhost", self.ports.amqp(i), self.ports.dist(i), self.work / f"node{i}")
            for i in range(1, self.size + 1)
        ]

    @property
    def url(self) -> str:
        """The one AMQP_URL the services get: HAProxy in front of all nodes."""
        return f"amqp://guest:guest@{HOST}:{self.ports.load_balancer}/"

    # --- files ---------------------------------------------------------------------

    def _write_files(self) -> None:
        self.home.mkdir(parents=True)
        cookie = self.home / ".erlang.cookie"
        cookie.write_text(secrets.token_hex(20).upper())
        cookie.chmod(0o400)
        (self.work / "enabled_plugins").write_text("[].\n")  # no management plugin, no ports of its own
        (self.work / "rabbitmq-env.conf").write_text("")  # instead of /etc/rabbitmq/rabbitmq-env.conf
        (self.work / "rabbitmq.conf").write_text(
            "loopback_users.guest = true\n"
            # The machine is shared: do not let the nodes block publishers for memory or
            # disk that other programs use.
            "vm_memory_high_watermark.relative = 0.8\n"
            "disk_free_limit.absolute = 50MB\n"
        )
        for node in self.nodes:
            node.log_dir.mkdir(parents=True)
        (self.work / "haproxy.cfg").write_text(self._haproxy_config())

    def _haproxy_config(self) -> str:
        servers = "\n".join(
            f"    server {node.name.split('@')[0]} {HOST}:{node.amqp_port} check" for node in self.nodes
        )
        return f"""\
global
    maxconn 2000

defaults
    mode tcp
    timeout connect 2s
    # Above AMQP's heartbeat (60 s): idle connections stay open.
    timeout client 3m
    timeout server 3m

frontend amqp
    bind {HOST}:{self.ports.load_balancer}
    default_backend rabbitmq

backend rabbitmq
    balance leastconn
    # A node that stops answering is taken out within a second, and the connections
    # it held are closed so their clients reconnect to another node at once.
    default-server inter 300ms fall 2 rise 2 on-marked-down shutdown-sessions
{servers}
"""

    def _ports(self) -> list[int]:
        return [self.ports.load_balancer, *(p for n in self.nodes for p in (n.amqp_port, n.dist_port))]

    def env(self, node: Node | None = None) -> dict[str, str]:
        cli_min, cli_max = self.ports.cli_dist
        env = {
            **os.environ,
            "HOME": str(self.home),
            "RABBITMQ_CONF_ENV_FILE": str(self.work / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.work / "enabled_plugins"),
            "RABBITMQ_CTL_DIST_PORT_MIN": str(cli_min),
            "RABBITMQ_CTL_DIST_PORT_MAX": str(cli_max),
            "ERL_EPMD_ADDRESS": HOST,
            "LC_ALL": "C.UTF-8",
        }
        if node is not None:
            env |= {
                "RABBITMQ_NODENAME": node.name,
                "RABBITMQ_NODE_IP_ADDRESS": HOST,
                "RABBITMQ_NODE_PORT": str(node.amqp_port),
                "RABBITMQ_DIST_PORT": str(node.dist_port),
                "RABBITMQ_MNESIA_BASE": str(node.directory / "mnesia"),
                "RABBITMQ_LOG_BASE": str(node.log_dir),
                "RABBITMQ_CONFIG_FILE": str(self.work / "rabbitmq.conf"),
                "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.work / "advanced.config"),
                "RABBITMQ_PID_FILE": str(node.pid_file),
                # Distribution on loopback only; schedulers that sleep when idle instead of
                # spinning (three VMs on a small shared machine would otherwise burn CPU
                # the services need).
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": (
                    "-kernel inet_dist_use_interface {127,0,0,1} +sbwt none +sbwtdcpu none +sbwtdio none"
                ),
            }
        return env

    # --- lifecycle -----------------------------------------------------------------

    async def start(self, timeout: float = 90, progress: Callable[[str], None] = print) -> None:
        """All nodes booted, nodes 2.. joined to node 1, HAProxy listening."""
        taken = [port for port in self._ports() if await listening(port)]
        if taken:  # a node left over from a run that was killed itself: say so, touch nothing
            raise RuntimeError(f"ports {taken} are in use; CLUSTER_TEST_PORT_BASE moves this test's ports")
        self._write_files()
        await asyncio.gather(*(self.start_node(node, timeout) for node in self.nodes))
        progress(f"{len(self.nodes)} RabbitMQ nodes booted")
        first, *others = self.nodes
        # One at a time: two nodes joining the same seed at once race in Mnesia's schema
        # merge (seen once: `start_app` failed with {badmatch, {error, {normal,
        # {mnesia_app, start, …}}}}).
        for node in others:
            await self._join(node, first, timeout)
        progress("nodes joined into one cluster")
        self.haproxy = await asyncio.create_subprocess_exec(
            HAPROXY, "-db", "-f", str(self.work / "haproxy.cfg"),
            stdout=(self.work / "haproxy.log").open("wb"), stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        await wait_until(lambda: amqp_answers(self.url), timeout, "HAProxy")
        progress(f"HAProxy in front: {self.url}")

    async def start_node(self, node: Node, timeout: float = 90) -> None:
        """Boot `node` (again, with its data after a kill) and wait until AMQP answers."""
        node.pid_file.unlink(missing_ok=True)
        with (node.log_dir / "stdout.log").open("ab") as log:
            node.process = await asyncio.create_subprocess_exec(
                str(RABBITMQ_BIN / "rabbitmq-server"), env=self.env(node),
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        await wait_until(lambda: self._booted(node), timeout, f"{node.name} booting")

    async def _booted(self, node: Node) -> bool:
        if node.process is not None and node.process.returncode is not None:
            raise AssertionError(f"{node.name} exited with {node.process.returncode}:\n{self.log_tail(node)}")
        return await amqp_answers(node.url)

    async def _join(self, node: Node, seed: Node, timeout: float) -> None:
        await self.ctl(node, "stop_app")
        await self.ctl(node, "join_cluster", seed.name)
        await self.ctl(node, "start_app")
        await wait_until(lambda: amqp_answers(node.url), timeout, f"{node.name} after joining")

    def kill(self, node: Node) -> None:
        """SIGKILL the node's Erlang VM: no goodbye to its peers or clients."""
        assert node.vm_pid is not None, f"{node.name} has not booted"
        os.kill(node.vm_pid, signal.SIGKILL)

    async def wait_dead(self, node: Node, timeout: float = 30) -> None:
        assert node.process is not None
        await asyncio.wait_for(node.process.wait(), timeout)

    async def ctl(self, node: Node, *args: str, tool: str = "rabbitmqctl") -> str:
        process = await asyncio.create_subprocess_exec(
            str(RABBITMQ_BIN / tool), "-n", node.name, *args, env=self.env(),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"{tool} -n {node.name} {' '.join(args)}: {stderr.decode()}{stdout.decode()}")
        return stdout.decode()

    async def quorum_queues(self, via: Node) -> dict[str, QueueState]:
        """Every quorum queue as `via` sees it: leader, members, members online, messages."""
        text = await self.ctl(
            via, "list_queues", "name", "type", "leader", "members", "online", "messages",
            "--formatter", "json", "--quiet",
        )
        return {
            row["name"]: QueueState(row["leader"], tuple(row["members"]), tuple(row["online"]), row["messages"])
            for row in json.loads(text) if row["type"] == "quorum"
        }

    def node_named(self, name: str) -> Node:
        return next(node for node in self.nodes if node.name == name)

    def log_tail(self, node: Node, lines: int = 40) -> str:
        text = "\n".join(
            path.read_text(errors="replace") for path in sorted(node.log_dir.glob("*.log"))
        )
        return "\n".join(text.splitlines()[-lines:])

    async def close(self) -> None:
        """Kill HAProxy and every node, delete all their files. Each was started in a
        session of its own, so killing its process group takes the Erlang VM (and its
        helpers) with the script that started it; nothing else is touched."""
        for process in (self.haproxy, *(node.process for node in self.nodes)):
            if process is not None and process.returncode is None:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                await process.wait()
        shutil.rmtree(self.work, ignore_errors=True)


@dataclass(frozen=True)
class QueueState:
    leader: str
    members: tuple[str, ...]
    online: tuple[str, ...]
    messages: int


async def listening(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection(HOST, port)
    except OSError:
        return False
    writer.close()
    return True


async def amqp_answers(url: str) -> bool:
    """True once a full AMQP handshake succeeds (a listening port alone is not enough)."""
    port = int(url.rsplit(":", 1)[1].rstrip("/"))
    if not await listening(port):  # no handshake attempt yet (and no error logged by aiormq)
        return False
    try:
        connection = await aio_pika.connect(url, timeout=2)
    except (TimeoutError, OSError, aio_pika.exceptions.AMQPError):
        return False
    await connection.close()
    return True


async def wait_until(probe: Callable[[], Awaitable[bool]], timeout: float, what: str, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not await probe():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what}: not done within {timeout}s")
        await asyncio.sleep(interval)
