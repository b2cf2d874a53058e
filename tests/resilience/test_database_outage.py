"""The database away at start-up, or dropping every connection: the service starts
not-ready instead of crashing, says so on /health/ready and with 503 + Retry-After, and
recovers by itself when the database answers again (real PostgreSQL behind a TCP gate)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from litestar.testing import TestClient
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from rag_app.api import create_app
from rag_app.cli import main
from rag_app.settings import Settings
from tests.support.tcp_gate import TcpGate


@pytest.fixture
def gate(database_url: str) -> Iterator[tuple[TcpGate, str]]:
    parts = conninfo_to_dict(database_url)
    server = TcpGate((str(parts["host"]), int(str(parts["port"])))).start()
    yield server, make_conninfo(database_url, host="127.0.0.1", port=server.port)
    server.stop()


def _until(predicate: Any, seconds: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds} s")


def test_a_service_started_without_its_database_waits_then_recovers(
    gate: tuple[TcpGate, str], tmp_path: Path
) -> None:
    server, url = gate
    settings = Settings(database_url=url, data_dir=tmp_path)
    with TestClient(create_app(settings)) as client:
        assert client.get("/health/live").status_code == 200
        ready = client.get("/health/ready")
        assert ready.status_code == 503
        assert "waiting for the database" in ready.json()["detail"]
        search = client.post("/search", json={"query": "work-hours"})
        assert search.status_code == 503
        assert search.headers["retry-after"] == "5"
        server.open()
        took = _until(lambda: client.get("/health/ready").status_code == 200, 30)
        print(f"ready {took:.1f} s after the database came back")
        assert client.post("/search", json={"query": "work-hours"}).status_code == 200


def test_a_database_that_drops_every_connection_is_survived(
    gate: tuple[TcpGate, str], tmp_path: Path
) -> None:
    server, url = gate
    server.open()
    settings = Settings(database_url=url, data_dir=tmp_path)
    with TestClient(create_app(settings)) as client:
        assert client.get("/health/ready").status_code == 200
        server.close()  # a crash: every connection cut, new ones refused
        assert client.get("/health/ready").status_code == 503
        down = client.post("/search", json={"query": "work-hours"})
        assert down.status_code == 503
        assert down.headers["retry-after"] == "5"
        assert down.json()["detail"] == "the database is unavailable; retry shortly"
        server.open()
        _until(lambda: client.post("/search", json={"query": "x"}).status_code == 200, 30)
        assert client.get("/health/ready").status_code == 200


def test_the_cli_says_the_database_is_unavailable(
    gate: tuple[TcpGate, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, url = gate
    monkeypatch.setenv("RAG_DATABASE_URL", url)
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["search", "work-hours"])
    assert result.exit_code == 1
    assert "the database is unavailable" in result.output
