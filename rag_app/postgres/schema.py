"""The catalog schema. Idempotent: every start runs it under an advisory lock, so several
processes starting at once (or an upgrade) cannot race. Vector tables are created by the
pgvector store, one per embedding space."""

from __future__ import annotations

import hashlib

import psycopg

from rag_app.audit.postgres import ENSURE as AUDIT_TABLE
from rag_app.conversations.postgres import SCHEMA as CONVERSATIONS
from rag_app.errors import ConfigurationError

MIGRATION_LOCK = 0x52414701  # any constant shared by every rag-app process

SCHEMA = """
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE IF NOT EXISTS rag_documents (
    document_id    text PRIMARY KEY,
    title          text NOT NULL,
    collection     text NOT NULL,
    metadata       jsonb NOT NULL DEFAULT '{}',
    filename       text NOT NULL,
    media_type     text NOT NULL,
    content_sha256 text NOT NULL,
    size_bytes     bigint NOT NULL,
    status         text NOT NULL,
    pages          integer NOT NULL DEFAULT 0,
    chunks         integer NOT NULL DEFAULT 0,
    error          text,
    latest_job_id  text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS rag_documents_collection_sha
    ON rag_documents (collection, content_sha256);
CREATE INDEX IF NOT EXISTS rag_documents_created ON rag_documents (created_at, document_id);

CREATE TABLE IF NOT EXISTS rag_jobs (
    job_id         text PRIMARY KEY,
    document_id    text NOT NULL,
    status         text NOT NULL,
    stage          text NOT NULL,
    error          text,
    content_sha256 text NOT NULL,
    blob_key       text NOT NULL,
    filename       text NOT NULL,
    media_type     text NOT NULL,
    size_bytes     bigint NOT NULL,
    title          text NOT NULL,
    collection     text NOT NULL,
    metadata       jsonb NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
-- Added for scanned PDFs and media; ADD COLUMN IF NOT EXISTS upgrades older catalogs in place.
ALTER TABLE rag_documents
    ADD COLUMN IF NOT EXISTS pages_text        integer NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS pages_ocr         integer NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS pages_empty       integer NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS duration_s        double precision,
    ADD COLUMN IF NOT EXISTS transcript_source text;
ALTER TABLE rag_jobs ADD COLUMN IF NOT EXISTS transcript_key text;

CREATE INDEX IF NOT EXISTS rag_jobs_unfinished ON rag_jobs (created_at)
    WHERE status IN ('queued', 'running');
"""


# Filtered searches rely on iterative index scans (hnsw.iterative_scan), new in 0.8.0:
# Aurora PostgreSQL 16.8+/17.x, or `ALTER EXTENSION vector UPDATE` after an engine upgrade.
MIN_PGVECTOR = (0, 8)


# Which schema a database holds: recorded by whoever migrates it, so that a role that may
# not change the schema (the app's, from `rag-app init-db`) can tell it is current.
STATE = """
CREATE TABLE IF NOT EXISTS rag_schema_state (
    fingerprint text PRIMARY KEY,
    applied_at  timestamptz NOT NULL DEFAULT now()
);
"""


def fingerprint() -> str:
    return hashlib.sha256((SCHEMA + CONVERSATIONS + AUDIT_TABLE).encode()).hexdigest()[:16]


async def _check_current(conn: psycopg.AsyncConnection[object], refused: Exception) -> None:
    """For a role that may not run the DDL: the schema must be the one this version needs."""
    try:
        row = await (
            await conn.execute(
                "SELECT 1 FROM rag_schema_state WHERE fingerprint = %s", (fingerprint(),)
            )
        ).fetchone()
    except psycopg.Error:
        row = None
    if row is None:
        raise ConfigurationError(
            f"this database role may not migrate the schema ({refused}) and the schema is "
            "not this version's: run `rag-app init-db` with the owner's credentials"
        ) from None


async def migrate(conn: psycopg.AsyncConnection[object]) -> None:
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            await conn.execute(SCHEMA)
            await conn.execute(CONVERSATIONS)
            await conn.execute(AUDIT_TABLE)
            await conn.execute(STATE)
            await conn.execute(
                "INSERT INTO rag_schema_state (fingerprint) VALUES (%s) ON CONFLICT DO NOTHING",
                (fingerprint(),),
            )
    except psycopg.errors.InsufficientPrivilege as e:
        await _check_current(conn, e)
    async with conn.transaction():
        row = await (
            await conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        ).fetchone()
    version = str(row[0]) if isinstance(row, tuple) else "none"
    if tuple(int(p) for p in version.split(".")[:2] if p.isdigit()) < MIN_PGVECTOR:
        raise ConfigurationError(
            f"pgvector {version} is installed; the service needs 0.8 or later "
            "(run ALTER EXTENSION vector UPDATE, or upgrade the engine)"
        )
