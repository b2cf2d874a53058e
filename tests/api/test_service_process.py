"""The README's path, for real: `rag-app serve` on embedded defaults (it starts its own
PostgreSQL under RAG_DATA_DIR), real HTTP; then, with the server stopped, the CLI answers
from the same data (it survives restarts)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import AOA_QUESTION, FAA_PDF

pytestmark = pytest.mark.slow
RAG_APP = str(Path(sys.executable).parent / "rag-app")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_server(data_dir: Path, log: Path) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "RAG_DATA_DIR": str(data_dir)}
    with log.open("w") as out:
        process = subprocess.Popen(
            [RAG_APP, "serve", "--port", str(port)], env=env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, f"server exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"not ready in 90 s:\n{log.read_text()}"
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


def _wait(client: httpx.Client, job_id: str) -> dict[str, object]:
    deadline = time.monotonic() + 180
    while (job := client.get(f"/jobs/{job_id}").json())["status"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    return dict(job)


def test_serve_on_embedded_defaults_then_ask_from_the_cli(state_root: Path) -> None:
    data_dir = state_root / "service-data"
    with (
        running_server(data_dir, state_root / "server.log") as url,
        httpx.Client(base_url=url, timeout=60) as client,
    ):
        response = client.post(
            "/documents", files={"file": (FAA_PDF.name, FAA_PDF.read_bytes(), "application/pdf")}
        )
        assert response.status_code == 202, response.text
        job = _wait(client, response.json()["job_id"])
        assert job["status"] == "succeeded", job
        hits = client.post("/search", json={"query": AOA_QUESTION, "top_k": 3}).json()["hits"]
        assert 6 in [h["page"] for h in hits]
        answer = client.post("/ask", json={"question": AOA_QUESTION}).json()
        assert answer["grounded"] is True
        assert 6 in [c["page"] for c in answer["citations"]]

    # The server stopped its PostgreSQL; the CLI starts it again from the same data dir.
    result = subprocess.run(
        [RAG_APP, "ask", "--json", AOA_QUESTION],
        env={**os.environ, "RAG_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert 6 in [c["page"] for c in json.loads(result.stdout)["citations"]]
