from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from rag_app.catalog.base import DocumentPage
from rag_app.domain import Document, DocumentStatus, Job, JobStage, JobStatus

DOCUMENT_COLUMNS = (
    "document_id, title, collection, metadata, filename, media_type, content_sha256, size_bytes,"
    " status, pages, chunks, error, latest_job_id, created_at, updated_at, pages_text,"
    " pages_ocr, pages_empty, duration_s, transcript_source"
)
JOB_COLUMNS = (
    "job_id, document_id, status, stage, error, content_sha256, blob_key, filename, media_type,"
    " size_bytes, title, collection, metadata, created_at, updated_at, transcript_key"
)


def _upsert(table: str, columns: str, key: str) -> str:
    names = [c.strip() for c in columns.split(",")]
    values = ", ".join(f"%({n})s" for n in names)
    updates = ", ".join(f"{n} = EXCLUDED.{n}" for n in names if n not in (key, "created_at"))
    return (
        f"INSERT INTO {table} ({columns}) VALUES ({values})"  # noqa: S608 - constants only
        f" ON CONFLICT ({key}) DO UPDATE SET {updates}"
    )


SAVE_DOCUMENT = _upsert("rag_documents", DOCUMENT_COLUMNS, "document_id")
SAVE_JOB = _upsert("rag_jobs", JOB_COLUMNS, "job_id")
GET_DOCUMENT = f"SELECT {DOCUMENT_COLUMNS} FROM rag_documents WHERE document_id = %(id)s"  # noqa: S608
FIND_BY_CONTENT = (
    f"SELECT {DOCUMENT_COLUMNS} FROM rag_documents"  # noqa: S608
    " WHERE collection = %(collection)s AND content_sha256 = %(sha)s"
    " ORDER BY created_at LIMIT 1"
)
LIST_DOCUMENTS = (
    f"SELECT {DOCUMENT_COLUMNS}, count(*) OVER () AS total FROM rag_documents"  # noqa: S608
    " WHERE %(collections)s::text[] IS NULL OR collection = ANY(%(collections)s)"
    " ORDER BY created_at, document_id LIMIT %(limit)s OFFSET %(offset)s"
)
COUNT_DOCUMENTS = (
    "SELECT count(*) AS total FROM rag_documents"
    " WHERE %(collections)s::text[] IS NULL OR collection = ANY(%(collections)s)"
)
DELETE_DOCUMENT = "DELETE FROM rag_documents WHERE document_id = %(id)s"
DELETE_JOBS = "DELETE FROM rag_jobs WHERE document_id = %(id)s"
GET_JOB = f"SELECT {JOB_COLUMNS} FROM rag_jobs WHERE job_id = %(id)s"  # noqa: S608
LIST_JOBS = (
    f"SELECT {JOB_COLUMNS} FROM rag_jobs"  # noqa: S608
    " WHERE (%(status)s::text IS NULL OR status = %(status)s)"
    " AND (%(collections)s::text[] IS NULL OR collection = ANY(%(collections)s))"
    " ORDER BY created_at DESC, job_id DESC LIMIT %(limit)s"
)
UNFINISHED_JOBS = (
    f"SELECT {JOB_COLUMNS} FROM rag_jobs"  # noqa: S608
    " WHERE status IN ('queued', 'running') ORDER BY created_at"
)


def _document(row: Mapping[str, Any]) -> Document:
    values = {k: row[k] for k in Document.__dataclass_fields__}
    return Document(**{**values, "status": DocumentStatus(row["status"])})


def _job(row: Mapping[str, Any]) -> Job:
    values = {k: row[k] for k in Job.__dataclass_fields__}
    return Job(**{**values, "status": JobStatus(row["status"]), "stage": JobStage(row["stage"])})


def _params(record: Document | Job) -> dict[str, Any]:
    values = asdict(record)
    values["metadata"] = Jsonb(dict(record.metadata))
    return values


class PostgresCatalog:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def _one(self, statement: str, params: dict[str, Any]) -> dict[str, Any] | None:
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(statement, params)
            return await cursor.fetchone()

    async def get_document(self, document_id: str) -> Document | None:
        row = await self._one(GET_DOCUMENT, {"id": document_id})
        return _document(row) if row else None

    async def find_document_by_content(self, collection: str, sha256: str) -> Document | None:
        row = await self._one(FIND_BY_CONTENT, {"collection": collection, "sha": sha256})
        return _document(row) if row else None

    async def list_documents(
        self, *, collections: frozenset[str] | None, limit: int, offset: int
    ) -> DocumentPage:
        wanted = None if collections is None else sorted(collections)
        params = {"collections": wanted, "limit": limit, "offset": offset}
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(LIST_DOCUMENTS, params)
            rows = await cursor.fetchall()
            if rows:
                total = int(rows[0]["total"])
            else:  # past the last page: the window count is not there to read
                await cursor.execute(COUNT_DOCUMENTS, params)
                row = await cursor.fetchone()
                total = int(row["total"]) if row else 0
        return DocumentPage(items=[_document(r) for r in rows], total=total)

    async def save_document(self, document: Document) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(SAVE_DOCUMENT, _params(document))

    async def delete_document(self, document_id: str) -> bool:
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute(DELETE_JOBS, {"id": document_id})
            cursor = await conn.execute(DELETE_DOCUMENT, {"id": document_id})
            return cursor.rowcount > 0

    async def get_job(self, job_id: str) -> Job | None:
        row = await self._one(GET_JOB, {"id": job_id})
        return _job(row) if row else None

    async def save_job(self, job: Job) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(SAVE_JOB, _params(job))

    async def list_jobs(
        self, *, status: JobStatus | None, collections: frozenset[str] | None, limit: int
    ) -> list[Job]:
        params = {
            "status": None if status is None else status.value,
            "collections": None if collections is None else sorted(collections),
            "limit": limit,
        }
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(LIST_JOBS, params)
            return [_job(r) for r in await cursor.fetchall()]

    async def unfinished_jobs(self) -> list[Job]:
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(UNFINISHED_JOBS)
            return [_job(r) for r in await cursor.fetchall()]

    async def check(self) -> None:
        async with self._pool.connection() as conn:
            await conn.execute("SELECT 1")
