"""HNSW builds: memory sized to the graph (checked against pgvector's own "no longer fits"
notice on the embedded server), parallel workers only where pgvector is safe for them, and
`rag-app reindex` rebuilding the live index online."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import psycopg
import pytest
from click.testing import CliRunner

from rag_app.cli import main
from rag_app.domain import Chunk
from rag_app.postgres.index_build import HEADROOM, graph_bytes, plan_build, version_tuple
from rag_app.postgres.pool import open_pool
from rag_app.vectorstores.pgvector import PgVectorStore

DIM = 384
NOT_FITTING = "no longer fits into maintenance_work_mem"


def unit_vectors(n: int, seed: int = 7) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def build_notices(database_url: str, rows: int, memory_kb: int) -> list[str]:
    """Load ``rows`` vectors, build an HNSW index (m 16) within ``memory_kb``, and return
    the server's notices."""
    notices: list[str] = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.add_notice_handler(lambda d: notices.append(str(d.message_primary)))
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        conn.execute(f"CREATE TABLE items (embedding vector({DIM}))")
        with conn.cursor().copy("COPY items (embedding) FROM STDIN") as copy:
            for v in unit_vectors(rows):
                copy.write_row(["[" + ",".join(f"{x:.6f}" for x in v) + "]"])
        conn.execute(f"SET maintenance_work_mem = '{memory_kb}kB'")
        conn.execute("SET max_parallel_maintenance_workers = 0")
        conn.execute("CREATE INDEX ON items USING hnsw (embedding vector_cosine_ops)")
    return notices


@pytest.mark.parametrize(("share", "fits"), [(HEADROOM, True), (0.5, False)])
def test_the_graph_estimate_is_what_the_server_needs(
    database_url: str, share: float, fits: bool
) -> None:
    rows = 3000
    memory_kb = int(graph_bytes(rows, DIM) * share / 1024)
    notices = build_notices(database_url, rows, memory_kb)
    assert any(NOT_FITTING in n for n in notices) is not fits, notices


def test_memory_is_sized_to_the_graph_between_the_default_and_the_cap() -> None:
    plan = dict(dimension=DIM, m=16, pgvector_version="0.8.6", workers=1)
    small = plan_build(rows=1000, max_memory_mb=1024, **plan)  # type: ignore[arg-type]
    assert small.memory_mb == 64  # PostgreSQL's default is the floor
    large = plan_build(rows=100_000, max_memory_mb=1024, **plan)  # type: ignore[arg-type]
    assert graph_bytes(100_000, DIM) / 2**20 < large.memory_mb < 1024
    capped = plan_build(rows=10_000_000, max_memory_mb=1024, **plan)  # type: ignore[arg-type]
    assert capped.memory_mb == 1024
    assert "capped" in capped.note


@pytest.mark.parametrize(
    ("version", "workers"), [("0.8.1", 0), ("0.7.4", 0), ("0.8.2", 3), ("0.8.6", 3), ("1.0.0", 3)]
)
def test_parallel_workers_only_on_pgvector_0_8_2_or_later(version: str, workers: int) -> None:
    plan = plan_build(
        rows=50_000, dimension=DIM, m=16, pgvector_version=version, max_memory_mb=512, workers=3
    )
    assert plan.workers == workers
    assert ("CVE-2026-3172" in plan.note) is (workers == 0)
    assert version_tuple(version) == tuple(int(p) for p in version.split("."))


def chunks(document_id: str, n: int) -> list[Chunk]:
    return [
        Chunk(document_id, i, f"passage {i}", 1, 0, 10, "Title", "default", {}) for i in range(n)
    ]


@pytest.mark.anyio
async def test_reindex_rebuilds_the_live_index_and_leaves_the_session_as_it_was(
    database_url: str,
) -> None:
    pool = await open_pool(database_url, max_size=1)  # one connection: the one that built
    try:
        store = PgVectorStore(pool, table=f"chunks_reindex_{DIM}", dimension=DIM)
        await store.create()
        vectors = unit_vectors(300)
        await store.upsert_document("doc", chunks("doc", 300), vectors)
        before = await store.query(vectors[5], top_k=5, filters={})
        plan = await store.reindex(max_memory_mb=256, workers=1)
        after = await store.query(vectors[5], top_k=5, filters={})
        async with pool.connection() as conn:
            settings = await (
                await conn.execute(
                    "SELECT current_setting('maintenance_work_mem'),"
                    " current_setting('max_parallel_maintenance_workers'),"
                    " current_setting('statement_timeout')"
                )
            ).fetchone()
            valid = await (
                await conn.execute(
                    "SELECT count(*) FROM pg_index WHERE indrelid = %s::regclass"
                    " AND NOT indisvalid",
                    (f"chunks_reindex_{DIM}",),
                )
            ).fetchone()
    finally:
        await pool.close()
    assert (plan.memory_mb, plan.workers) == (64, 1)
    assert [h.chunk.chunk_no for h in after] == [h.chunk.chunk_no for h in before]
    assert after[0].chunk.chunk_no == 5
    # The server's and the pool's own settings are back (embedded: 256MB, 2, 120s).
    assert settings == ("256MB", "2", "2min")
    assert valid == (0,)


def test_the_reindex_command_rebuilds_and_says_with_what(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAG_DATABASE_URL", database_url)
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RAG_INDEX_BUILD_WORKERS", "1")
    result = CliRunner().invoke(main, ["reindex"])
    assert result.exit_code == 0, result.output
    assert "index rebuilt in" in result.output
    assert "maintenance_work_mem 64 MB, 1 parallel worker(s)" in result.output
