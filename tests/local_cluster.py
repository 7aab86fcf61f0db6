"""A real two-node Ray cluster on this machine, started with the `ray` CLI and torn down by process id.

Everything it starts listens on 127.0.0.1 on free ports, keeps its files in its own temp dir and uses its own
auth token (RAY_AUTH_TOKEN_PATH in that dir), so it neither touches nor is reached by any other Ray on the
machine. Teardown never runs `ray stop` (that would end every Ray here): it kills the processes it started.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

RAY = str(Path(sys.executable).with_name("ray"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bindable(port: int) -> bool:
    """Free on every interface (some of Ray's servers listen on 0.0.0.0)."""
    with socket.socket() as s:
        try:
            s.bind(("", port))
        except OSError:
            return False
        return True


def _ephemeral_low() -> int:
    """The bottom of the kernel's range for port-0 binds and outgoing connections."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


class PortPicker:
    """Free ports that are never handed out twice, from below the kernel's ephemeral range.

    Ray refuses to start a node when two of its components share a port, and a worker range from free_port()
    covered a single port picked a moment before (seen in CI: the runtime-env agent's port inside the worker
    range). So every port and range handed out is remembered and kept out of the next pick. They come from below
    the ephemeral range because nothing binds a worker range until workers start: a port-0 bind or an outgoing
    connection could take one of its ports first.
    """

    WORKER_PORTS = 51
    LOW = 20_000

    def __init__(self) -> None:
        self.taken: set[int] = {8265, 10001}  # Ray's defaults, which it checks each node's ports against
        self.high = max(self.LOW + 1000, _ephemeral_low())
        self.rng = random.Random()

    def port(self) -> int:
        return self._take(1)

    def worker_range(self) -> tuple[int, int]:
        """`WORKER_PORTS` consecutive free ports, none handed out before."""
        low = self._take(self.WORKER_PORTS)
        return low, low + self.WORKER_PORTS - 1

    def _take(self, count: int) -> int:
        for _ in range(1000):
            low = self.rng.randrange(self.LOW, self.high - count)
            ports = range(low, low + count)
            if self.taken.isdisjoint(ports) and all(_bindable(p) for p in ports):
                self.taken.update(ports)
                return low
        raise RuntimeError(f"no {count} free consecutive ports in [{self.LOW}, {self.high})")


class LocalCluster:
    """Head plus `nodes` extra nodes ("node", "node2", ...). `env` is what a client (ray job submit) needs."""

    def __init__(self, head_cpus: int = 1, node_cpus: int = 1, nodes: int = 1):
        self.temp_dir = Path(tempfile.mkdtemp(prefix="a3c-ray-", dir="/tmp"))  # short: Ray's socket paths
        token = self.temp_dir / "auth_token"
        token.write_text(secrets.token_hex(32))
        token.chmod(0o600)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_ADDRESS")}
        self.env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token), RAY_USAGE_STATS_ENABLED="0")
        self.ports = PortPicker()
        self.gcs_port, self.dashboard_port = self.ports.port(), self.ports.port()
        self.address = f"127.0.0.1:{self.gcs_port}"
        self.dashboard = f"http://127.0.0.1:{self.dashboard_port}"
        self.node_manager_ports: dict[str, int] = {}
        self.started: list[psutil.Process] = []
        self.head_cpus, self.node_cpus = head_cpus, node_cpus
        self.node_names = ["node"] + [f"node{i}" for i in range(2, nodes + 1)]

    def start(self) -> "LocalCluster":
        self._ray_start("head", self.head_cpus, "--head", f"--port={self.gcs_port}", "--include-dashboard=true",
                        "--dashboard-host=127.0.0.1", f"--dashboard-port={self.dashboard_port}",
                        f"--ray-client-server-port={self.ports.port()}", f"--temp-dir={self.temp_dir}")
        for name in self.node_names:
            self._ray_start(name, self.node_cpus, f"--address={self.address}", f"--temp-dir={self.temp_dir}")
        return self

    def _ray_start(self, name: str, cpus: int, *args: str) -> None:
        low, high = self.ports.worker_range()
        port = self.node_manager_ports[name] = self.ports.port()
        pick = self.ports.port
        cmd = [RAY, "start", *args, "--node-ip-address=127.0.0.1", f"--num-cpus={cpus}", "--disable-usage-stats",
               f"--node-manager-port={port}", f"--object-manager-port={pick()}",
               f"--dashboard-agent-listen-port={pick()}", f"--dashboard-agent-grpc-port={pick()}",
               f"--runtime-env-agent-port={pick()}", f"--metrics-export-port={pick()}",
               f"--min-worker-port={low}", f"--max-worker-port={high}"]
        before = {p.pid for p in psutil.process_iter()}
        done = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=120)
        self.started += [p for p in psutil.process_iter() if p.pid not in before and self._ours(p)]
        if done.returncode != 0:
            raise RuntimeError(f"ray start ({name}) failed:\n{done.stdout}\n{done.stderr}")

    def _ours(self, proc: psutil.Process) -> bool:
        """A process this cluster started: its command line names our temp dir or one of our ports."""
        try:
            cmdline = " ".join(proc.cmdline())
        except psutil.Error:
            return False
        marks = [str(self.temp_dir), f"={self.gcs_port}", f"127.0.0.1:{self.gcs_port}",
                 *(f"={p}" for p in self.node_manager_ports.values())]
        return any(mark in cmdline for mark in marks)

    def node_processes(self, name: str) -> list[psutil.Process]:
        """The raylet of node `name` and everything under it (its workers and agents)."""
        mark = f"--node_manager_port={self.node_manager_ports[name]}"
        procs = []
        for proc in self._alive(self.started):
            try:
                if "raylet" in proc.name() and mark in " ".join(proc.cmdline()):
                    procs += [proc, *proc.children(recursive=True)]
            except psutil.Error:
                continue
        return procs

    def remove_node(self, name: str = "node") -> int:
        """SIGKILL the node: what a lost machine looks like to the rest of the cluster. Returns processes hit."""
        procs = self.node_processes(name)
        for proc in procs:
            _kill(proc)
        return len(procs)

    def alive_nodes(self) -> int:
        """How many nodes the GCS counts alive (a SIGKILLed node stays counted until it misses its heartbeats)."""
        listed = subprocess.run([RAY, "list", "nodes", "--filter", "state=ALIVE", "--format", "json",
                                 "--address", self.address], env=self.env, capture_output=True, text=True, timeout=60)
        if listed.returncode != 0:
            raise RuntimeError(f"ray list nodes failed:\n{listed.stderr[-2000:]}")
        return len(json.loads(listed.stdout))

    def job(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """`ray job ...` against this cluster's dashboard."""
        return subprocess.run([RAY, "job", *args], env={**self.env, "RAY_ADDRESS": self.dashboard},
                              capture_output=True, text=True, timeout=timeout)

    def teardown(self) -> None:
        """Kill what this cluster started (and their children), then remove its temp dir."""
        procs = []
        for proc in self._alive(self.started):
            try:
                procs += [proc, *proc.children(recursive=True)]
            except psutil.Error:
                continue
        procs += [p for p in psutil.process_iter() if self._ours(p)]  # started by those we started
        for proc in procs:
            _kill(proc)
        psutil.wait_procs(self._alive(procs), timeout=10)
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    @staticmethod
    def _alive(procs):
        return [p for p in procs if p.is_running()]


def _kill(proc: psutil.Process) -> None:
    try:
        proc.send_signal(signal.SIGKILL)
    except psutil.Error:
        pass


def wait_for(predicate, timeout: float, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
