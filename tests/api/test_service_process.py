"""The README's path, for real: `rag-app serve` on embedded defaults (it starts its own
PostgreSQL under RAG_DATA_DIR), real HTTP; then, with the server stopped, the CLI answers
from the same data (it survives restarts)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import AOA_QUESTION, FAA_PDF
from tests.support.live_server import free_port
from tests.support.serve_process import RAG_APP, serve_process

pytestmark = pytest.mark.slow


def running_server(data_dir: Path, log: Path) -> contextlib.AbstractContextManager[str]:
    return serve_process(log, RAG_DATA_DIR=str(data_dir))


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


def _children(pid: int) -> list[int]:
    return [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit()
        and (entry / "stat").exists()
        and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid
    ]


def test_serve_in_two_processes_shares_one_database_and_stops_with_its_postgres(
    state_root: Path,
) -> None:
    data_dir = state_root / "two-process-data"
    log = state_root / "two-process.log"
    with serve_process(log, RAG_DATA_DIR=str(data_dir), RAG_SERVE_PROCESSES="2") as url:
        with httpx.Client(base_url=url, timeout=60) as client:
            response = client.post(
                "/documents",
                files={"file": (FAA_PDF.name, FAA_PDF.read_bytes(), "application/pdf")},
            )
            assert response.status_code == 202, response.text
            job = _wait(client, response.json()["job_id"])
            assert job["status"] == "succeeded", job
        # A new connection each time, so the kernel hands them to either process: every
        # one sees the document and answers from it.
        for _ in range(6):
            hits = httpx.post(f"{url}/search", json={"query": AOA_QUESTION, "top_k": 3}).json()
            assert 6 in [h["page"] for h in hits["hits"]]
        answer = httpx.post(f"{url}/ask", json={"question": AOA_QUESTION}, timeout=60).json()
        assert answer["grounded"] is True
    text = log.read_text()
    assert f"with 2 processes, {max(1, (os.cpu_count() or 1) // 2)} inference thread" in text
    assert text.count("Application shutdown complete") == 2
    # serve started the embedded PostgreSQL for both processes and stopped it on SIGTERM.
    assert not (data_dir / "postgres" / "cluster" / "data" / "postmaster.pid").exists()


def test_serve_in_two_processes_stops_all_when_one_dies(state_root: Path) -> None:
    data_dir = state_root / "two-process-crash"
    log = state_root / "two-process-crash.log"
    port = str(free_port())
    with log.open("w") as out:
        serve = subprocess.Popen(
            [RAG_APP, "serve", "--port", port],
            env={**os.environ, "RAG_DATA_DIR": str(data_dir), "RAG_SERVE_PROCESSES": "2"},
            stdout=out,
            stderr=out,
        )
    try:
        deadline = time.monotonic() + 180
        while len(children := [p for p in _children(serve.pid) if _is_api_process(p)]) < 2:
            assert serve.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        os.kill(children[0], signal.SIGKILL)
        assert serve.wait(timeout=120) != 0, log.read_text()
        assert not any(Path(f"/proc/{p}").exists() for p in children[1:])
        assert not (data_dir / "postgres" / "cluster" / "data" / "postmaster.pid").exists()
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()


def _is_api_process(pid: int) -> bool:
    """A process ``serve`` spawned to serve (not multiprocessing's resource tracker)."""
    with contextlib.suppress(OSError):
        return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    return False
