"""The README's path, for real: `rag-app serve` on embedded defaults (it starts its own
PostgreSQL under RAG_DATA_DIR), real HTTP; then, with the server stopped, the CLI answers
from the same data (it survives restarts)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import AOA_QUESTION, FAA_PDF
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
