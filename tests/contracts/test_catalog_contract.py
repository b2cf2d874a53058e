"""The Catalog contract over both backends (PostgreSQL; JSON objects in S3 through moto),
and Option 1's whole service with no database: S3 Vectors, an S3 catalog, S3 originals."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from rag_app.api import create_app
from rag_app.blobstores.s3 import S3BlobStore
from rag_app.catalog.base import Catalog
from rag_app.catalog.postgres import PostgresCatalog
from rag_app.catalog.s3 import S3Catalog
from rag_app.domain import Document, DocumentStatus, Job, JobStage, JobStatus
from rag_app.postgres.pool import open_pool
from rag_app.settings import Settings
from tests.conftest import AOA_QUESTION, FAA_PDF, unique_bucket, upload, wait_for_job
from tests.support.sqs_queues import create_sqs_pair

pytestmark = pytest.mark.anyio
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["postgres", "s3"])
async def catalog(
    request: pytest.FixtureRequest, database_url: str, moto_s3: Any
) -> AsyncIterator[Catalog]:
    if request.param == "s3":
        yield S3Catalog(S3BlobStore(moto_s3, bucket="documents", prefix=uuid.uuid4().hex))
        return
    pool = await open_pool(database_url, max_size=2)
    try:
        yield PostgresCatalog(pool)
    finally:
        await pool.close()


def document(document_id: str, n: int, collection: str = "c", sha: str = "") -> Document:
    return Document(
        document_id=document_id,
        title=f"T{n}",
        collection=collection,
        metadata={"k": n},
        filename="f.pdf",
        media_type="application/pdf",
        content_sha256=sha or f"{n:064d}",
        size_bytes=10,
        status=DocumentStatus.READY,
        pages=1,
        chunks=2,
        error=None,
        latest_job_id=f"job-{document_id}",
        created_at=T0 + timedelta(seconds=n),
        updated_at=T0 + timedelta(seconds=n),
    )


def job(document_id: str, n: int, status: JobStatus = JobStatus.QUEUED) -> Job:
    return Job(
        job_id=f"job-{document_id}-{n}",
        document_id=document_id,
        status=status,
        stage=JobStage.QUEUED,
        error=None,
        content_sha256="0" * 64,
        blob_key="documents/x.pdf",
        filename="f.pdf",
        media_type="application/pdf",
        size_bytes=10,
        title="T",
        collection="c",
        metadata={},
        created_at=T0 + timedelta(seconds=n),
        updated_at=T0 + timedelta(seconds=n),
    )


async def test_documents_round_trip(catalog: Catalog) -> None:
    assert isinstance(catalog, Catalog)
    assert await catalog.get_document("case-1") is None
    saved = document("case-1", 1)
    await catalog.save_document(saved)
    assert await catalog.get_document("case-1") == saved
    updated = dataclasses.replace(saved, status=DocumentStatus.FAILED, error="why")
    await catalog.save_document(updated)
    assert await catalog.get_document("case-1") == updated
    await catalog.check()


async def test_what_ingestion_found_round_trips(catalog: Catalog) -> None:
    media = dataclasses.replace(
        document("hearing", 1),
        media_type="video/mp4",
        pages_text=0,
        pages_ocr=0,
        pages_empty=0,
        duration_s=3725.04,
        transcript_source="faster-whisper tiny.en",
    )
    scan = dataclasses.replace(document("scan", 2), pages_text=3, pages_ocr=9, pages_empty=2)
    for saved in (media, scan):
        await catalog.save_document(saved)
        assert await catalog.get_document(saved.document_id) == saved
    with_transcript = dataclasses.replace(
        job("hearing", 1), transcript_key="documents/hearing/abc.transcript.vtt"
    )
    await catalog.save_job(with_transcript)
    assert await catalog.get_job(with_transcript.job_id) == with_transcript


async def test_find_by_content_is_per_collection_and_follows_changes(catalog: Catalog) -> None:
    await catalog.save_document(document("a", 1, "x", sha="1" * 64))
    assert (await catalog.find_document_by_content("x", "1" * 64)).document_id == "a"  # type: ignore[union-attr]
    assert await catalog.find_document_by_content("y", "1" * 64) is None
    await catalog.save_document(document("a", 1, "x", sha="2" * 64))  # new content
    assert await catalog.find_document_by_content("x", "1" * 64) is None


async def test_listing_pages_oldest_first_with_totals(catalog: Catalog) -> None:
    for n, collection in [(3, "x"), (1, "y"), (2, "x"), (4, "x")]:
        await catalog.save_document(document(f"doc-{n}", n, collection))
    everything = await catalog.list_documents(collections=None, limit=10, offset=0)
    assert [d.document_id for d in everything.items] == ["doc-1", "doc-2", "doc-3", "doc-4"]
    page = await catalog.list_documents(collections=frozenset({"x"}), limit=2, offset=1)
    assert ([d.document_id for d in page.items], page.total) == (["doc-3", "doc-4"], 3)
    beyond = await catalog.list_documents(collections=None, limit=2, offset=10)
    assert (beyond.items, beyond.total) == ([], 4)


async def test_listing_several_collections_or_none(catalog: Catalog) -> None:
    for n, collection in [(1, "x"), (2, "y"), (3, "z"), (4, "x")]:
        await catalog.save_document(document(f"doc-{n}", n, collection))
    both = await catalog.list_documents(collections=frozenset({"x", "z"}), limit=10, offset=0)
    assert ([d.document_id for d in both.items], both.total) == (["doc-1", "doc-3", "doc-4"], 3)
    nothing = await catalog.list_documents(collections=frozenset(), limit=10, offset=0)
    assert (nothing.items, nothing.total) == ([], 0)


async def test_moving_a_document_to_another_collection_moves_its_listing(
    catalog: Catalog,
) -> None:
    await catalog.save_document(document("d", 1, "x"))
    await catalog.save_document(document("d", 1, "y"))
    assert (
        await catalog.list_documents(collections=frozenset({"x"}), limit=5, offset=0)
    ).total == 0
    assert (
        await catalog.list_documents(collections=frozenset({"y"}), limit=5, offset=0)
    ).total == 1


async def test_jobs_and_unfinished_jobs(catalog: Catalog) -> None:
    await catalog.save_document(document("d", 1))
    await catalog.save_job(job("d", 2))
    await catalog.save_job(job("d", 1, JobStatus.RUNNING))
    await catalog.save_job(job("d", 3, JobStatus.SUCCEEDED))
    assert [j.job_id for j in await catalog.unfinished_jobs()] == ["job-d-1", "job-d-2"]
    finished = dataclasses.replace(job("d", 2), status=JobStatus.FAILED, error="bad pdf")
    await catalog.save_job(finished)
    assert await catalog.get_job("job-d-2") == finished
    assert [j.job_id for j in await catalog.unfinished_jobs()] == ["job-d-1"]


async def test_delete_removes_the_document_and_its_jobs(catalog: Catalog) -> None:
    await catalog.save_document(document("d-1", 1))
    await catalog.save_job(job("d-1", 1))
    assert await catalog.delete_document("d-1") is True
    assert await catalog.delete_document("d-1") is False
    assert await catalog.get_document("d-1") is None
    assert await catalog.get_job("job-d-1-1") is None
    assert await catalog.unfinished_jobs() == []
    assert (await catalog.list_documents(collections=None, limit=5, offset=0)).total == 0


def test_option_1_runs_with_no_database(moto_s3: Any, tmp_path: Path) -> None:
    """S3 Vectors + S3 catalog + S3 originals + SQS: nothing starts PostgreSQL."""
    queues = create_sqs_pair(moto_s3.meta.endpoint_url, visibility=30, max_receives=5)
    settings = Settings(
        queue="sqs",
        sqs_queue_url=queues.url,
        sqs_dead_letter_queue_url=queues.dead_letter_url,
        queue_wait_seconds=1,
        data_dir=tmp_path,
        vector_store="s3vectors",
        s3vectors_bucket=unique_bucket(),
        catalog="s3",
        blob_store="s3",
        documents_bucket="documents",
        documents_prefix=uuid.uuid4().hex,
    )
    assert not settings.needs_postgres
    with TestClient(create_app(settings)) as client:
        status, body = upload(client, FAA_PDF)
        assert status == 202
        assert wait_for_job(client, body["job_id"])["status"] == "succeeded"
        hits = client.post("/search", json={"query": AOA_QUESTION, "top_k": 3}).json()["hits"]
        assert 6 in [h["page"] for h in hits]
        assert client.get("/documents").json()["total"] == 1
        assert client.delete(f"/documents/{body['document_id']}").status_code == 204
        assert client.post("/search", json={"query": AOA_QUESTION}).json()["hits"] == []
    assert not (tmp_path / "postgres").exists()
