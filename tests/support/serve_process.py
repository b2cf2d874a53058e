"""`rag-app serve` as a real process on a free loopback port, for tests of what only a
separate process shows (the README's path, several replicas on one database)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.support.live_server import free_port

RAG_APP = str(Path(sys.executable).parent / "rag-app")


@contextlib.contextmanager
def serve_process(log: Path, **settings: str) -> Iterator[str]:
    """`rag-app serve` with these environment variables added, its output in ``log``; yields
    its base URL once /health/ready answers 200, then stops it with SIGTERM and checks it
    shut down cleanly."""
    port = free_port()
    env = {**os.environ, **settings}
    with log.open("w") as out:
        process = subprocess.Popen(
            [RAG_APP, "serve", "--port", str(port)], env=env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, f"server exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"not ready in 120 s:\n{log.read_text()}"
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                    break
            time.sleep(0.3)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it got.
        assert process.wait(timeout=60) in (0, -signal.SIGTERM), log.read_text()
        assert "Application shutdown complete" in log.read_text()
