"""`rag-app serve` and `rag-app worker` as real subprocesses, with their output in files."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

RAG_APP = str(Path(sys.executable).parent / "rag-app")
ROOT = Path(__file__).resolve().parents[2]  # the repository


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Process:
    """A started process; ``stdout`` holds its metric lines, ``log`` its log."""

    popen: subprocess.Popen[bytes]
    stdout: Path
    log: Path
    url: str | None = None

    def metrics(self, name: str) -> list[dict[str, Any]]:
        """Its EMF lines that carry metric ``name``."""
        found = []
        for line in self.stdout.read_text().splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                record = json.loads(line)
                if isinstance(record, dict) and name in record:
                    found.append(record)
        return found

    def total(self, name: str) -> float:
        return sum(float(r[name]) for r in self.metrics(name))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
        return self.popen.wait(timeout=timeout)


def start(
    args: list[str], env: Mapping[str, str], out: Path, *, module: str | None = None
) -> Process:
    """``rag-app <args>`` (or ``python -m <module> <args>``) with ``env`` over ours."""
    command = [sys.executable, "-m", module, *args] if module else [RAG_APP, *args]
    stdout, log = out.with_suffix(".out"), out.with_suffix(".log")
    with stdout.open("w") as o, log.open("w") as e:
        popen = subprocess.Popen(command, env={**os.environ, **env}, stdout=o, stderr=e, cwd=ROOT)
    return Process(popen, stdout, log)


def start_server(env: Mapping[str, str], out: Path, *, timeout: float = 120) -> Process:
    port = free_port()
    process = start(["serve", "--port", str(port)], env, out)
    process.url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        assert process.popen.poll() is None, f"server exited:\n{process.log.read_text()}"
        assert time.monotonic() < deadline, f"not ready in {timeout} s:\n{process.log.read_text()}"
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{process.url}/health/ready", timeout=2).status_code == 200:
                return process
        time.sleep(0.3)


def wait_until_started(process: Process, timeout: float = 120) -> None:
    """A worker is started once it says so (its services are open)."""
    deadline = time.monotonic() + timeout
    while "worker: " not in process.log.read_text():
        assert process.popen.poll() is None, f"worker exited:\n{process.log.read_text()}"
        assert time.monotonic() < deadline, f"worker not started:\n{process.log.read_text()}"
        time.sleep(0.2)


@contextlib.contextmanager
def stopped_at_exit(*processes: Process) -> Iterator[None]:
    try:
        yield
    finally:
        for process in processes:
            with contextlib.suppress(Exception):
                process.stop(signal.SIGKILL if process.popen.poll() is None else 0, timeout=30)
