"""A catalog and a vector table made before scanned-PDF and media support are upgraded in
place when the new version starts (twice, as restarts do), and what they held still reads."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest

from rag_app.catalog.postgres import PostgresCatalog
from rag_app.domain import DocumentStatus
from rag_app.postgres.pool import open_pool
from rag_app.vectorstores.pgvector import PgVectorStore

pytestmark = pytest.mark.anyio
# The tables as the service created them before these columns (rag_jobs and the indexes
# are left out: the upgrade adds columns only).
OLD_CATALOG = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE rag_documents (
    document_id text PRIMARY KEY, title text NOT NULL, collection text NOT NULL,
    metadata jsonb NOT NULL DEFAULT '{}', filename text NOT NULL, media_type text NOT NULL,
    content_sha256 text NOT NULL, size_bytes bigint NOT NULL, status text NOT NULL,
    pages integer NOT NULL DEFAULT 0, chunks integer NOT NULL DEFAULT 0, error text,
    latest_job_id text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE chunks_old (
    chunk_id text PRIMARY KEY, document_id text NOT NULL, chunk_no integer NOT NULL,
    collection text NOT NULL, title text NOT NULL, page integer NOT NULL,
    char_start integer NOT NULL, char_end integer NOT NULL, text text NOT NULL,
    metadata jsonb NOT NULL DEFAULT '{}', embedding vector(3) NOT NULL
);
"""


async def test_an_older_catalog_and_vector_table_are_upgraded_in_place(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(OLD_CATALOG)
        conn.execute(
            "INSERT INTO rag_documents (document_id, title, collection, filename, media_type,"
            " content_sha256, size_bytes, status, latest_job_id)"
            " VALUES ('old', 'Old', 'c', 'old.pdf', 'application/pdf', 'ab', 10, 'ready', 'j')"
        )
        conn.execute(
            "INSERT INTO chunks_old (chunk_id, document_id, chunk_no, collection, title, page,"
            " char_start, char_end, text, embedding)"
            " VALUES ('old#0', 'old', 0, 'c', 'Old', 1, 0, 5, 'hello', '[1,0,0]')"
        )
    for _ in range(2):
        pool = await open_pool(database_url, max_size=2)
        try:
            document = await PostgresCatalog(pool).get_document("old")
            store = PgVectorStore(pool, table="chunks_old", dimension=3)
            await store.create()
            hits = await store.query(np.array([1, 0, 0], np.float32), top_k=1, filters={})
        finally:
            await pool.close()
        assert document is not None
        assert document.status is DocumentStatus.READY
        assert (document.pages_text, document.pages_ocr, document.duration_s) == (0, 0, None)
        assert [(h.chunk.text, h.chunk.ocr, h.chunk.start_s) for h in hits] == [
            ("hello", False, None)
        ]
