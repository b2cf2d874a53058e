"""The Catalog contract over both backends (PostgreSQL; DynamoDB on moto's server through
real boto3), with the races it must decide, and Option 1's whole service with no database:
S3 Vectors, a DynamoDB catalog, S3 originals."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from rag_app.api import create_app
from rag_app.catalog.base import Catalog
from rag_app.catalog.dynamodb import DynamoDbCatalog
from rag_app.catalog.postgres import PostgresCatalog
from rag_app.domain import Document, DocumentStatus, Job, JobStage, JobStatus
from rag_app.errors import ConflictError
from rag_app.postgres.pool import open_pool
from rag_app.settings import Settings
from tests.conftest import (
    AOA_QUESTION,
    FAA_PDF,
    dynamodb_table,
    unique_bucket,
    upload,
    wait_for_job,
)
from tests.support.sqs_queues import create_sqs_pair

pytestmark = pytest.mark.anyio
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["postgres", "dynamodb"])
async def catalog(
    request: pytest.FixtureRequest, database_url: str, moto_s3: Any
) -> AsyncIterator[Catalog]:
    if request.param == "dynamodb":
        client, table = dynamodb_table(moto_s3)
        yield DynamoDbCatalog(client, table=table)
        return
    pool = await open_pool(database_url, max_size=8)
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


async def test_jobs_list_newest_first_by_status_and_collection(catalog: Catalog) -> None:
    statuses = [JobStatus.QUEUED, JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.SUCCEEDED]
    for n, status in enumerate(statuses, 1):
        await catalog.save_job(
            dataclasses.replace(job("d", n, status), collection="x" if n % 2 else "y")
        )
    listed = await catalog.list_jobs(status=None, collections=None, limit=10)
    assert [j.job_id for j in listed] == ["job-d-4", "job-d-3", "job-d-2", "job-d-1"]
    assert listed[0] == dataclasses.replace(job("d", 4, JobStatus.SUCCEEDED), collection="y")
    done = await catalog.list_jobs(status=JobStatus.SUCCEEDED, collections=None, limit=10)
    assert [j.job_id for j in done] == ["job-d-4", "job-d-2"]
    assert [j.job_id for j in await catalog.list_jobs(status=None, collections=None, limit=2)] == [
        "job-d-4",
        "job-d-3",
    ]
    in_x = await catalog.list_jobs(status=None, collections=frozenset({"x"}), limit=10)
    assert [j.job_id for j in in_x] == ["job-d-3", "job-d-1"]
    assert await catalog.list_jobs(status=JobStatus.FAILED, collections=frozenset(), limit=10) == []
    assert await catalog.list_jobs(status=JobStatus.RUNNING, collections=None, limit=10) == []
    # A job that changes status moves to its new status's listing.
    await catalog.save_job(dataclasses.replace(job("d", 1, JobStatus.RUNNING), collection="x"))
    queued = await catalog.list_jobs(status=JobStatus.QUEUED, collections=None, limit=10)
    assert queued == []
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


async def test_create_document_refuses_a_taken_id_or_content(catalog: Catalog) -> None:
    first = document("a", 1, "x", sha="1" * 64)
    assert await catalog.create_document(first) is None
    assert await catalog.create_document(document("b", 2, "x", sha="1" * 64)) == first
    assert await catalog.create_document(document("a", 3, "x", sha="3" * 64)) == first
    assert await catalog.get_document("b") is None
    # The same content in another collection is another document.
    assert await catalog.create_document(document("c", 4, "y", sha="1" * 64)) is None
    # Content given up (deleted, or replaced by a new version) can be taken again.
    await catalog.save_document(document("a", 1, "x", sha="5" * 64))
    assert await catalog.create_document(document("d", 5, "x", sha="1" * 64)) is None
    assert await catalog.delete_document("d")
    assert await catalog.create_document(document("e", 6, "x", sha="1" * 64)) is None
    assert (await catalog.find_document_by_content("x", "1" * 64)).document_id == "e"  # type: ignore[union-attr]


async def test_saving_content_another_document_holds_is_a_conflict(catalog: Catalog) -> None:
    await catalog.save_document(document("a", 1, "x", sha="1" * 64))
    await catalog.save_document(document("b", 2, "x", sha="2" * 64))
    with pytest.raises(ConflictError, match="'a'"):
        await catalog.save_document(document("b", 2, "x", sha="1" * 64))
    assert (await catalog.get_document("b")).content_sha256 == "2" * 64  # type: ignore[union-attr]
    assert (await catalog.find_document_by_content("x", "2" * 64)).document_id == "b"  # type: ignore[union-attr]


async def test_identical_creates_at_once_make_one_document(catalog: Catalog) -> None:
    for round_no in range(5):
        sha = f"{round_no:064d}"
        racers = [document(f"r{round_no}-{i}", i, "x", sha=sha) for i in range(8)]
        results = await asyncio.gather(*(catalog.create_document(d) for d in racers))
        winners = [d for d, result in zip(racers, results, strict=True) if result is None]
        assert len(winners) == 1, results
        assert {r.document_id for r in results if r is not None} == {winners[0].document_id}
        listed = await catalog.list_documents(collections=frozenset({"x"}), limit=50, offset=0)
        assert listed.total == round_no + 1


async def test_replace_job_lets_exactly_one_of_concurrent_writers_win(catalog: Catalog) -> None:
    await catalog.save_document(document("d", 1))
    current = job("d", 1)
    await catalog.save_job(current)
    for round_no in range(10):
        moves = [
            dataclasses.replace(
                current,
                status=JobStatus.RUNNING,
                stage=JobStage.PARSING,
                error=f"writer {i}",
                updated_at=current.updated_at + timedelta(seconds=1, microseconds=i),
            )
            for i in range(6)
        ]
        won = await asyncio.gather(*(catalog.replace_job(m, previous=current) for m in moves))
        assert won.count(True) == 1, (round_no, won)
        current = moves[won.index(True)]
        assert await catalog.get_job(current.job_id) == current
    stale = dataclasses.replace(current, status=JobStatus.FAILED)
    assert await catalog.replace_job(stale, previous=job("d", 1)) is False
    assert await catalog.replace_job(job("gone", 1), previous=job("gone", 1)) is False
    assert await catalog.get_job("job-gone-1") is None


async def test_swap_lease_has_one_holder_until_released_or_expired(catalog: Catalog) -> None:
    results = await asyncio.gather(
        *(catalog.acquire_swap("d", f"job-{i}", lease_seconds=30) for i in range(8))
    )
    assert results.count(True) == 1
    holder = f"job-{results.index(True)}"
    assert await catalog.acquire_swap("d", holder, lease_seconds=30)  # extends its own
    assert not await catalog.acquire_swap("d", "late", lease_seconds=30)
    assert await catalog.acquire_swap("other-document", "late", lease_seconds=30)
    await catalog.release_swap("d", "late")  # not the holder: nothing happens
    assert not await catalog.acquire_swap("d", "late", lease_seconds=30)
    await catalog.release_swap("d", holder)
    assert await catalog.acquire_swap("d", "late", lease_seconds=0.2)
    await asyncio.sleep(0.4)  # the holder died: its lease runs out
    assert await catalog.acquire_swap("d", "next", lease_seconds=30)


def test_option_1_runs_with_no_database(moto_s3: Any, tmp_path: Path) -> None:
    """S3 Vectors + DynamoDB catalog + S3 originals + SQS: nothing starts PostgreSQL."""
    queues = create_sqs_pair(moto_s3.meta.endpoint_url, visibility=30, max_receives=5)
    settings = Settings(
        queue="sqs",
        sqs_queue_url=queues.url,
        sqs_dead_letter_queue_url=queues.dead_letter_url,
        queue_wait_seconds=1,
        data_dir=tmp_path,
        vector_store="s3vectors",
        s3vectors_bucket=unique_bucket(),
        catalog="dynamodb",
        dynamodb_table=dynamodb_table(moto_s3)[1],
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
