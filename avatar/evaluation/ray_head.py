"""A local Ray head for tests and benchmarks: `ray start --head --block` in its own folder, stopped by signalling
that process (never `ray stop`, which would stop every Ray on the machine).

Token authentication is on with a token, off without one (Ray 2.60 turns it on by default); the head serves Ray
Client too. tests/test_ray_cluster.py joins such heads as a user would; bench/batch_scale.py measures batches on
them.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent


@dataclass
class Head:
    port: int
    client_port: int
    node_address: str  # what `ray start --head` prints for other nodes to join
    token: str | None
    process: subprocess.Popen
    log: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def descendants(pid: int) -> list[int]:
    """The processes started under pid, from /proc (Ray's raylet, its workers and helpers)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def start_head(folder: Path, token: str | None, cpus: int = 2) -> Head:
    """`ray start --head --block` on free ports with `cpus` CPUs; token authentication on with `token`, off with
    None. RuntimeError (with the end of its log) when it does not start within two minutes."""
    port, client_port = free_port(), free_port()
    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token} if token else {"RAY_AUTH_MODE": "disabled"}
    env = {key: value for key, value in os.environ.items() if not key.startswith("RAY_")}
    log = folder / "head.log"
    command = [
        str(BIN / "ray"),
        "start",
        "--head",
        "--block",
        f"--port={port}",
        f"--ray-client-server-port={client_port}",
        f"--temp-dir={folder / 'ray'}",
        f"--num-cpus={cpus}",
        f"--memory={3 * 1024**3}",
        f"--object-store-memory={100 * 1024**2}",
        "--include-dashboard=false",
        "--disable-usage-stats",
    ]
    with open(log, "wb") as sink:
        process = subprocess.Popen(
            command, env={**env, **auth}, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 120
    while "Ray runtime started" not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_head(process)
            raise RuntimeError(f"ray start --head did not start:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.5)
    node_address = re.search(r"ray start --address='([^']+)'", log.read_text()).group(1)
    return Head(port, client_port, node_address, token, process, log)


def stop_head(process: subprocess.Popen) -> None:
    """SIGTERM to `ray start --block` stops its node; anything of ours still running after that is killed."""
    ours = descendants(process.pid)
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    for pid in ours:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
